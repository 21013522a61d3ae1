"""dynesty's static nested sampling (Speagle 2020): ``NestedSampler.run_nested``.

The prior transform and likelihood come from the target's declared prior
(:mod:`essbench.nested`). The draws are the dead points and the final live points, weighted
by their posterior mass: cost per ESS divides by Kish's ESS of those weights, and the
evidence estimate (``stat_logz``, ``stat_logz_err``: dynesty's own error) goes into the
record. ``logp_evals`` counts likelihood calls.
"""

from time import perf_counter

import numpy as np

from essbench.nested import log_z_stats
from essbench.options import Option, choice, count, positive
from essbench.samplers._nested import PACKAGES_COMMON, prepare, weighted_run
from essbench.samplers._nested import unsupported as unsupported  # the config check's

NAME = "dynesty"
DESCRIPTION = "dynesty static nested sampling, importance-weighted draws (Kish ESS)"
NEEDS_GRADIENT = False
ENSEMBLE = False
# A study skips (rather than refuses) the targets without a prior transform: a config that
# runs every sampler on every posteriordb posterior stays valid (the README's compatibility
# table says which pairs do not run and why).
SKIP_UNSUPPORTED = True
RUNS_LOG_PROB = True  # with the file's prior_transform (essbench.logprob)
OPTIONS = (
    count("nlive", 500, "live points (the run's resolution; ESS grows about linearly with it)"),
    choice(
        "bound",
        "multi",
        "how the live points are bounded",
        ("none", "single", "multi", "balls", "cubes"),
    ),
    choice(
        "sample",
        "auto",
        "how a new point is drawn within the bound (auto: uniform below d = 10, random walk"
        " to d = 20, random slice sampling above)",
        ("auto", "unif", "rwalk", "slice", "rslice"),
    ),
    positive(
        "dlogz",
        0.1,
        "stop when the live points could add less than this to log Z (dynesty's criterion)",
    ),
    Option(
        "maxcall",
        int,
        None,
        "cap on likelihood calls: a run stopped by it before its dlogz criterion is flagged"
        " unreliable (null: no cap)",
        low=1,
        nullable=True,
    ),
)
PACKAGES = ("dynesty", *PACKAGES_COMMON)
ENV = "sampling"
LENGTH_OPTION = "nlive"  # ESS-goal runs restart with more live points
LENGTH_UNIT = "live points"
WARMUP_OPTION = None  # no warm-up: every dead point is a weighted draw
# No textbook exponent: the cost per ESS depends on how points are drawn within the bound
# (uniform draws degrade exponentially with d once the ellipsoids loosen, slice draws
# polynomially) and on the information H, which grows with d and with the prior's width.
TEXTBOOK_ALPHA = None
COLOR, MARKER = "#117733", "h"
# Small enough for a quick correctness run (tests/test_samplers.py), large enough to pass it.
QUICK_OPTIONS = {"nlive": 200}
# The batch's throw-away run (essbench.clock.prime): few live points, a call cap.
PRIME_OPTIONS = {"nlive": 25, "maxcall": 2000}


def run(problem, options: dict, seed: int):
    import dynesty

    start = perf_counter()
    built = prepare(problem, batched=False)
    nlive, maxcall = int(options["nlive"]), options["maxcall"]
    sampler = dynesty.NestedSampler(
        built.loglike,
        built.transform_one,
        problem.ndim,
        nlive=nlive,
        bound=options["bound"],
        sample=options["sample"],
        rstate=np.random.default_rng(seed),
    )
    compile_seconds = perf_counter() - start

    start = perf_counter()
    sampler.run_nested(
        dlogz=float(options["dlogz"]),
        maxcall=None if maxcall is None else int(maxcall),
        print_progress=False,
    )
    seconds = perf_counter() - start

    res = sampler.results
    calls = int(np.sum(res["ncall"]))
    # dynesty stops at maxcall only when its dlogz criterion has not been met.
    converged = maxcall is None or calls < int(maxcall)
    log_z, log_z_err = float(res["logz"][-1]), float(res["logzerr"][-1])
    return weighted_run(
        res["samples"],
        res["logwt"],
        compile_seconds=compile_seconds,
        warmup_seconds=0.0,
        draw_seconds=seconds,
        grad_evals=0,
        logp_evals=calls,
        settings={"nlive": nlive},
        stats={
            **log_z_stats(log_z, log_z_err, built.log_z_true),
            "converged": bool(converged),
            "iterations": int(res["niter"]),
            "efficiency": float(res["eff"]),
            "information": float(res["information"][-1]),
        },
    )
