"""BlackJAX NUTS on the PyMC model's JAX log-density (PyTensor's JAX backend).

BlackJAX's own API, not ``pm.sample(nuts_sampler="blackjax")``: with BlackJAX 1.7.1 that
path fails in PyMC 6.4.0 (PyMC passes ``progress_bar`` on to the NUTS kernel, a
``TypeError``). Warm-up is ``blackjax.window_adaptation(blackjax.nuts, ...)`` run for
``tune`` steps (Stan-style windows, diagonal inverse mass matrix, dual-averaging step size to
``target_accept``); draws are ``tune``-adapted ``blackjax.nuts`` steps (max 10 doublings).
Both are compiled ahead by the shared JAX driver (:mod:`essbench.samplers._jax`) and timed
apart. ``grad_evals`` sums ``num_integration_steps`` over warm-up and draws. Chains, threads
and XLA flags: see ``_jax``.
"""

from time import perf_counter

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
OPTIONS = jax_options(min_tune=1)
PACKAGES = ("blackjax", *JAX_PACKAGES)
ENV = "jax"
LENGTH_OPTION = "draws"
WARMUP_OPTION = "tune"
TEXTBOOK_ALPHA = 1.25
COLOR, MARKER = "#D55E00", "X"
# Short enough for a quick correctness run (tests/test_samplers.py), long enough to pass it.
QUICK_OPTIONS = {"tune": 300, "draws": 300, "chains": 2}


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
        stats = {"n_steps": info.info.num_integration_steps, "diverging": info.info.is_divergent}
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
