"""NumPyro NUTS on the PyMC model's JAX log-density (PyTensor's JAX backend).

NumPyro's own kernel (``numpyro.infer.NUTS(potential_fn=...)``, its defaults: diagonal mass
matrix, Stan-style windowed adaptation, max tree depth 10) driven by the shared JAX driver
(:mod:`essbench.samplers._jax`) instead of ``MCMC.run``: ``MCMC.run`` compiles inside the
call (its loop length is static, so a throw-away small run would not pay the real run's
compilation), while here warm-up (``NUTS.init`` plus ``tune`` adaptation steps) and draws are
two functions compiled ahead and timed apart. Each step is ``NUTS.sample``, the step
``MCMC.run`` takes, so the chains are NumPyro's. ``grad_evals`` sums ``num_steps`` (leapfrog
steps) over warm-up and draws. Chains, threads and XLA flags: see ``_jax``.

``mass_matrix: identity`` (the variant ``numpyro_nuts_identity``): ``NUTS(...,
adapt_mass_matrix=False)``, the identity as mass matrix and only the step size adapted, the
MCHMC papers' protocol (:mod:`essbench.literature`) as far as NumPyro goes: its warm-up keeps
Stan's window schedule even without a metric to adapt, so dual averaging restarts (from
``find_reasonable_step_size``) at every window's end and the draws use the average over the
last window (50 steps at the default 1,000) rather than over all ``tune`` steps, as BlackJAX's
``blackjax_nuts_identity`` does.

``mass_matrix: dense`` (the variant ``numpyro_nuts_dense``): ``NUTS(..., dense_mass=True)``,
a full mass matrix adapted in the same windows, made for correlated posteriors.
"""

from time import perf_counter

from essbench.options import choice
from essbench.samplers._jax import (
    JAX_PACKAGES,
    chain_threads,
    import_jax,
    jax_options,
    run_jax_nuts,
)

NAME = "numpyro_nuts"
DESCRIPTION = "NumPyro NUTS (JAX) on the PyMC model's JAX log-density"
NEEDS_GRADIENT = True
ENSEMBLE = False
BACKEND = "jax"  # PyTensor's JAX backend, whatever the study's
RUNS_LOG_PROB = True  # a JAX log_prob file directly (essbench.logprob)
MASS_MATRICES = ("diagonal", "identity", "dense")
OPTIONS = (
    *jax_options(min_tune=0),
    choice(
        "mass_matrix",
        "diagonal",
        "`diagonal` (adapted in Stan-style windows), `identity` (not adapted: the step size"
        " alone, the MCHMC papers' protocol) or `dense` (a full matrix adapted in the same"
        " windows, for correlated posteriors)",
        MASS_MATRICES,
    ),
)
PACKAGES = ("numpyro", *JAX_PACKAGES)
ENV = "jax"
LENGTH_OPTION = "draws"
WARMUP_OPTION = "tune"
TEXTBOOK_ALPHA = 1.25
COLOR, MARKER = "#009E73", "s"
# Short enough for a quick correctness run (tests/test_samplers.py), long enough to pass it.
QUICK_OPTIONS = {"tune": 300, "draws": 300, "chains": 2}
VARIANTS = {
    "numpyro_nuts_identity": {
        "description": "NumPyro NUTS with the identity mass matrix (step size adapted only,"
        " the MCHMC papers' protocol)",
        "defaults": {"mass_matrix": "identity"},
        "color": "#66C2A5",
        "marker": "H",
    },
    "numpyro_nuts_dense": {
        "description": "NumPyro NUTS with a dense mass matrix (correlated posteriors)",
        "defaults": {"mass_matrix": "dense"},
        "color": "#006D4F",
        "marker": "P",
    },
}


def threads(options: dict) -> int:
    return chain_threads(options)


def run(problem, options: dict, seed: int):
    start = perf_counter()
    import_jax(int(options["chains"]))
    return run_jax_nuts(problem, options, seed, _functions, start)


def _functions(problem, options: dict, logdensity):
    import jax
    from numpyro.infer import NUTS

    tune, n_draws = int(options["tune"]), int(options["draws"])
    kernel = NUTS(
        potential_fn=lambda x: -logdensity(x),
        target_accept_prob=float(options["target_accept"]),
        adapt_mass_matrix=options.get("mass_matrix", "diagonal") != "identity",
        dense_mass=options.get("mass_matrix", "diagonal") == "dense",
    )

    def step_stats(state):
        return {"n_steps": state.num_steps, "diverging": state.diverging}

    def warm(key, x0):
        state = kernel.init(key, tune, init_params=x0)

        def one(state, _):
            state = kernel.sample(state, (), {})
            return state, step_stats(state)

        return jax.lax.scan(one, state, length=tune)

    def draw(key, state):  # NumPyro's state carries its own key
        def one(state, _):
            state = kernel.sample(state, (), {})
            stats = {
                **step_stats(state),
                "acceptance": state.accept_prob,
                "step_size": state.adapt_state.step_size,
            }
            return state, (state.z, stats)

        return jax.lax.scan(one, state, length=n_draws)[1]

    return warm, draw
