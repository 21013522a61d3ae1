"""nautilus (Lange 2023): importance nested sampling with neural-network bounds.

The prior transform and likelihood come from the target's declared prior
(:mod:`essbench.nested`), both called on batches of points. A run is nautilus's two phases,
timed apart: the exploration (building the bounds; its points are discarded, as nautilus
recommends for unbiased estimates: ``discard_exploration``) is the warm-up, the sampling
from the bounds until nautilus's effective sample size reaches ``n_eff`` is the draw time.
Cost per ESS divides by Kish's ESS of the importance weights; ``logp_evals`` counts
likelihood calls; ``stat_logz_err`` is nautilus's documented statistical error of log Z,
1 / sqrt(n_eff) (it reports no error of its own).
"""

from time import perf_counter

import numpy as np

from essbench.nested import log_z_stats
from essbench.options import Option, count
from essbench.samplers._nested import PACKAGES_COMMON, prepare, weighted_run
from essbench.samplers._nested import unsupported as unsupported  # the config check's

NAME = "nautilus"
DESCRIPTION = "nautilus importance nested sampling (neural-network bounds), Kish ESS"
NEEDS_GRADIENT = False
ENSEMBLE = False
# A study skips (rather than refuses) the targets without a prior transform: a config that
# runs every sampler on every posteriordb posterior stays valid (the README's compatibility
# table says which pairs do not run and why).
SKIP_UNSUPPORTED = True
RUNS_LOG_PROB = True  # with the file's prior_transform (essbench.logprob)
# nautilus refuses problems of fewer than 2 parameters.
MIN_DIM = 2
OPTIONS = (
    count("n_live", 2000, "live points of the exploration phase (nautilus's default)"),
    count("n_eff", 10_000, "sample until nautilus's effective sample size reaches this"),
    count("n_networks", 4, "neural networks per bound (nautilus's default)"),
    Option(
        "discard_exploration",
        bool,
        True,
        "drop the exploration phase's points (nautilus: needed for unbiased estimates)",
    ),
    Option(
        "n_like_max",
        int,
        None,
        "cap on likelihood calls: a run stopped by it before n_eff is flagged unreliable"
        " (null: no cap)",
        low=1,
        nullable=True,
    ),
    Option(
        "timeout_seconds",
        float,
        None,
        "stop after this many seconds of exploration and sampling (nautilus's own timeout,"
        " checked between its batches, so a bound being trained finishes first): a run"
        " stopped by it before n_eff is flagged unreliable, as by n_like_max (null: none)",
        low=0,
        low_open=True,
        nullable=True,
    ),
)
PACKAGES = ("nautilus-sampler", "scikit-learn", *PACKAGES_COMMON)
ENV = "sampling"
LENGTH_OPTION = "n_eff"  # ESS-goal runs restart with a larger n_eff
LENGTH_UNIT = "effective samples (n_eff)"
WARMUP_OPTION = None  # the exploration's length is nautilus's own (until f_live < 0.01)
# No textbook exponent: the cost per ESS depends on how well the networks' bounds fit the
# likelihood's shells, which nautilus's paper measures only up to about 50 dimensions.
TEXTBOOK_ALPHA = None
COLOR, MARKER = "#882255", "p"
# Small enough for a quick correctness run (tests/test_samplers.py), large enough to pass it.
QUICK_OPTIONS = {"n_live": 200, "n_eff": 1000, "n_networks": 1}
# The batch's throw-away run (essbench.clock.prime): few live points, a call cap (its
# first network training and likelihood batches fall outside the clock).
PRIME_OPTIONS = {"n_live": 50, "n_eff": 50, "n_like_max": 2000}


def run(problem, options: dict, seed: int):
    from nautilus import Sampler

    start = perf_counter()
    built = prepare(problem, batched=True)
    cap = options["n_like_max"]
    n_like_max = np.inf if cap is None else int(cap)
    discard = bool(options["discard_exploration"])
    sampler = Sampler(
        built.transform,
        built.loglike_batched,
        n_dim=problem.ndim,
        n_live=int(options["n_live"]),
        n_networks=int(options["n_networks"]),
        vectorized=True,
        pass_dict=False,
        seed=seed,
    )
    compile_seconds = perf_counter() - start

    timeout = options["timeout_seconds"]
    timeout = np.inf if timeout is None else float(timeout)
    start = perf_counter()
    # n_eff = 0: the exploration, then one point per shell.
    sampler.run(n_eff=0, n_like_max=n_like_max, discard_exploration=discard, timeout=timeout)
    explored = perf_counter()
    calls_exploration = int(sampler.n_like)
    converged = sampler.run(
        n_eff=int(options["n_eff"]),
        n_like_max=n_like_max,
        discard_exploration=discard,
        timeout=max(timeout - (explored - start), 0.0),
    )
    end = perf_counter()
    # Which cap stopped it, if one did: the likelihood calls, else the timeout.
    stopped_by = ""
    if not (converged and sampler.explored):
        stopped_by = "calls" if sampler.n_like >= n_like_max else "timeout"

    points, log_w, _ = sampler.posterior()
    n_eff = float(sampler.n_eff)
    log_z_err = 1.0 / np.sqrt(n_eff) if n_eff > 0 else np.inf
    return weighted_run(
        points,
        log_w,
        compile_seconds=compile_seconds,
        warmup_seconds=explored - start,
        draw_seconds=end - explored,
        grad_evals=0,
        logp_evals=int(sampler.n_like),
        settings={
            "n_live": int(options["n_live"]),
            "n_eff": int(options["n_eff"]),
            "timeout_seconds": None if np.isinf(timeout) else timeout,
        },
        stats={
            **log_z_stats(float(sampler.log_z), log_z_err, built.log_z_true),
            "converged": bool(converged and sampler.explored),
            "stopped_by": stopped_by,
            "n_eff_nautilus": n_eff,
            "logp_evals_exploration": calls_exploration,
            "shells": len(sampler.bounds),
        },
    )
