"""nutpie: NUTS in Rust on the PyMC model compiled by PyTensor (Numba backend by default).

``nutpie.compile_pymc_model`` (once per batch: ``Problem.cache``) and a throw-away one-chain
``nutpie.sample`` (the tutorial protocol's warm-up call, which pays nutpie's first-use set-up, an
import among it) are timed as compilation; the real ``nutpie.sample`` as sampling. nutpie
returns after all chains finish, so its wall time is split into warm-up and draws in
proportion to the gradient evaluations (tree sizes) of each phase.

``adaptation: low_rank`` (the variant ``nutpie_low_rank``): nutpie's low-rank modified
diagonal mass matrix (``nutpie.sample(..., adaptation="low_rank")``, formerly
``low_rank_modified_mass_matrix=True``), adapted from the draws and their gradients, made for
posteriors whose parameters are correlated (the default ``diag`` adapts variances only).
"""

from time import perf_counter

import numpy as np

from essbench.options import choice
from essbench.samplers import SamplerRun
from essbench.samplers._pymc import PM_PACKAGES, per_draw_stats, pm_options, stack

NAME = "nutpie"
DESCRIPTION = "nutpie NUTS (Rust) on the compiled PyMC model"
NEEDS_GRADIENT = True
ENSEMBLE = False
BACKEND = "numba"  # whatever the study's backend (nutpie has no C backend)
# A JAX log_prob file through nutpie's own from_pyfunc (essbench.logprob.nutpie_model).
RUNS_LOG_PROB = True
ADAPTATIONS = ("diag", "low_rank")
OPTIONS = (
    *pm_options(),
    choice(
        "adaptation",
        "diag",
        "mass-matrix adaptation: `diag` (variances, nutpie's default) or `low_rank` (a"
        " low-rank modified diagonal, for correlated posteriors)",
        ADAPTATIONS,
    ),
)
PACKAGES = ("nutpie", *PM_PACKAGES)
ENV = "sampling"
LENGTH_OPTION = "draws"
WARMUP_OPTION = "tune"
TEXTBOOK_ALPHA = 1.25
COLOR, MARKER = "#E69F00", "D"
# Short enough for a quick correctness run (tests/test_samplers.py), long enough to pass it.
QUICK_OPTIONS = {"tune": 300, "draws": 300, "chains": 2, "cores": 1}
VARIANTS = {
    "nutpie_low_rank": {
        "description": "nutpie NUTS with its low-rank modified mass matrix (correlated posteriors)",
        "defaults": {"adaptation": "low_rank"},
        "color": "#F0C27B",
        "marker": "d",
    }
}


def run(problem, options: dict, seed: int) -> SamplerRun:
    import nutpie

    start = perf_counter()
    # nutpie compiles with Numba whatever the study's backend (it has no C backend).
    # Compiled once per batch (a compiled model is stateless); every run still pays the
    # throw-away call below.
    compiled = problem.cache.get("nutpie")
    if compiled is None and problem.model is None:  # a JAX log_prob file (essbench.logprob)
        from essbench.logprob import nutpie_model

        compiled = problem.cache["nutpie"] = nutpie_model(problem)
    elif compiled is None:
        compiled = problem.cache["nutpie"] = nutpie.compile_pymc_model(
            problem.model, backend="numba"
        )
    nutpie.sample(compiled, draws=1, tune=1, chains=1, cores=1, seed=seed, progress_bar=False)
    compile_seconds = perf_counter() - start

    tune, n_draws = int(options["tune"]), int(options["draws"])
    # Not study options (a study's runs keep nutpie's defaults): only the reference rule's
    # run (essbench.pipeline.reference_sampler) asks for a target acceptance or tree depth.
    tuned = {"target_accept": float(options["target_accept"])} if "target_accept" in options else {}
    if "max_treedepth" in options:
        tuned["maxdepth"] = int(options["max_treedepth"])
    start = perf_counter()
    trace = nutpie.sample(
        compiled,
        draws=n_draws,
        tune=tune,
        chains=int(options["chains"]),
        cores=int(options["cores"]),
        seed=seed,
        progress_bar=False,
        save_warmup=True,
        store_unconstrained=_has_transformed(problem),
        adaptation=options.get("adaptation", "diag"),
        **tuned,
    )
    wall = perf_counter() - start
    draws = stack(_value_variables(trace, problem.names), problem.names)
    draw_grads = float(np.sum(trace["sample_stats"]["n_steps"].values))
    warm_grads = float(np.sum(trace["warmup_sample_stats"]["n_steps"].values))
    share = warm_grads / (warm_grads + draw_grads) if warm_grads + draw_grads else 0.0
    return SamplerRun(
        draws=draws,
        compile_seconds=compile_seconds,
        warmup_seconds=wall * share,
        draw_seconds=wall * (1 - share),
        grad_evals=int(warm_grads + draw_grads),
        logp_evals=0,
        settings=dict(options),
        sample_stats=per_draw_stats(
            trace["sample_stats"], ("diverging", "n_steps", "step_size", "depth", "energy")
        ),
        stats={
            "divergences": int(np.sum(trace["sample_stats"]["diverging"].values)),
            "tree_size_mean": float(np.mean(trace["sample_stats"]["n_steps"].values)),
        },
    )


def _has_transformed(problem) -> bool:
    """Whether a value variable is not in nutpie's ``posterior`` (a transformed one, such as
    ``tau_log__``, is only in ``unconstrained_posterior``, which ``store_unconstrained``
    asks for). Storing it costs inside the clock (measured: +7% of a 0.04 s run at d = 50)
    and is left out when every value variable is a free variable itself. A log_prob
    file's model (no PyMC model) keeps it."""
    model = problem.model
    if model is None:
        return True
    return not set(problem.names) <= {rv.name for rv in model.free_RVs}


def _value_variables(trace, names) -> dict:
    """Each value variable's draws: nutpie keeps transformed ones (``tau_log__``) in
    ``unconstrained_posterior`` and untransformed ones in ``posterior``."""
    groups = [trace["posterior"]]
    if "unconstrained_posterior" in trace.children:
        groups.insert(0, trace["unconstrained_posterior"])
    out = {}
    for name in names:
        group = next((g for g in groups if name in g.data_vars), None)
        if group is None:
            raise KeyError(f"nutpie returned no draws of {name}")
        out[name] = group[name]
    return out
