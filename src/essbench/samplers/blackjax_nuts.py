"""BlackJAX NUTS on the PyMC model's JAX log-density (PyTensor's JAX backend).

BlackJAX's own API, not ``pm.sample(nuts_sampler="blackjax")``: with BlackJAX 1.7.1 that
path fails in PyMC 6.4.0 (PyMC passes ``progress_bar`` on to the NUTS kernel, a
``TypeError``). Warm-up is ``blackjax.window_adaptation(blackjax.nuts, ...)`` run for
``tune`` steps (Stan-style windows, diagonal inverse mass matrix, dual-averaging step size to
``target_accept``); draws are ``tune``-adapted ``blackjax.nuts`` steps (max 10 doublings).
Both are compiled ahead by the shared JAX driver (:mod:`essbench.samplers._jax`) and timed
apart. ``grad_evals`` sums ``num_integration_steps`` over warm-up and draws. Chains, threads
and XLA flags: see ``_jax``.

``mass_matrix: identity`` (the variant ``blackjax_nuts_identity``) is the MCHMC papers' NUTS
(``JakobRobnik/MicroCanonicalHMC`` @ 349eba8, ``benchmarks/sampling_algorithms.py``,
``da_adaptation`` and ``nuts(preconditioning=False)``): no metric adaptation, the identity as
inverse mass matrix, and ``tune`` steps of BlackJAX's ``dual_averaging_adaptation`` to
``target_accept`` from step size 1, the draws then at the dual-averaged step size
(:mod:`essbench.literature`).
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

NAME = "blackjax_nuts"
DESCRIPTION = "BlackJAX NUTS (JAX, window adaptation) on the PyMC model's JAX log-density"
NEEDS_GRADIENT = True
ENSEMBLE = False
BACKEND = "jax"  # PyTensor's JAX backend, whatever the study's
RUNS_LOG_PROB = True  # a JAX log_prob file directly (essbench.logprob)
MASS_MATRICES = ("diagonal", "identity")
OPTIONS = (
    *jax_options(min_tune=1),
    choice(
        "mass_matrix",
        "diagonal",
        "`diagonal` (window adaptation) or `identity` (no metric adaptation: dual averaging"
        " of the step size alone, the MCHMC papers' NUTS)",
        MASS_MATRICES,
    ),
)
PACKAGES = ("blackjax", *JAX_PACKAGES)
ENV = "jax"
LENGTH_OPTION = "draws"
WARMUP_OPTION = "tune"
TEXTBOOK_ALPHA = 1.25
COLOR, MARKER = "#D55E00", "X"
# Short enough for a quick correctness run (tests/test_samplers.py), long enough to pass it.
QUICK_OPTIONS = {"tune": 300, "draws": 300, "chains": 2}
VARIANTS = {
    "blackjax_nuts_identity": {
        "description": "BlackJAX NUTS with the identity mass matrix (dual averaging of the step"
        " size only, the MCHMC papers' protocol)",
        "defaults": {"mass_matrix": "identity"},
        "color": "#F4A582",
        "marker": "d",
    }
}


def threads(options: dict) -> int:
    return chain_threads(options)


def run(problem, options: dict, seed: int):
    start = perf_counter()
    import_jax(int(options["chains"]))
    return run_jax_nuts(problem, options, seed, _functions, start)


def _functions(problem, options: dict, logdensity):
    import blackjax
    import jax
    from blackjax.adaptation.base import get_filter_adapt_info_fn

    tune, n_draws = int(options["tune"]), int(options["draws"])
    if options.get("mass_matrix", "diagonal") == "identity":
        warm = _identity_warmup(logdensity, tune, float(options["target_accept"]))
    else:
        adaptation = blackjax.window_adaptation(
            blackjax.nuts,
            logdensity,
            target_acceptance_rate=float(options["target_accept"]),
            adaptation_info_fn=get_filter_adapt_info_fn(
                info_keys={"num_integration_steps", "is_divergent"}
            ),
        )

        def warm(key, x0):
            (state, params), info = adaptation.run(key, x0, num_steps=tune)
            stats = {
                "n_steps": info.info.num_integration_steps,
                "diverging": info.info.is_divergent,
            }
            return (state, params), stats

    def draw(key, carry):
        state, params = carry
        step = blackjax.nuts(logdensity, **params).step

        def one(state, key):
            state, info = step(key, state)
            stats = {
                "n_steps": info.num_integration_steps,
                "diverging": info.is_divergent,
                "acceptance": info.acceptance_rate,
                "step_size": params["step_size"],
            }
            return state, (state.position, stats)

        return jax.lax.scan(one, state, jax.random.split(key, n_draws))[1]

    return warm, draw


def _identity_warmup(logdensity, tune: int, target_accept: float):
    """``warm`` for the identity mass matrix: ``tune`` NUTS steps whose step size BlackJAX's
    dual averaging tunes to ``target_accept`` from 1.0 (their ``da_adaptation``)."""
    import blackjax
    import jax
    import jax.numpy as jnp
    from blackjax.adaptation.step_size import dual_averaging_adaptation

    da_init, da_update, da_final = dual_averaging_adaptation(target_accept)
    kernel = blackjax.nuts.build_kernel()

    def warm(key, x0):
        inverse_mass_matrix = jnp.ones(x0.shape[-1], dtype=x0.dtype)

        def one(carry, key):
            da_state, state = carry
            step_size = jnp.exp(da_state.log_step_size)
            state, info = kernel(key, state, logdensity, step_size, inverse_mass_matrix)
            da_state = da_update(da_state, info.acceptance_rate)
            stats = {"n_steps": info.num_integration_steps, "diverging": info.is_divergent}
            return (da_state, state), stats

        start = (da_init(1.0), blackjax.nuts.init(x0, logdensity))
        (da_state, state), stats = jax.lax.scan(one, start, jax.random.split(key, tune))
        params = {"step_size": da_final(da_state), "inverse_mass_matrix": inverse_mass_matrix}
        return (state, params), stats

    return warm
