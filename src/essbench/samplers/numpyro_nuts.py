"""NumPyro NUTS on the PyMC model's JAX log-density (PyTensor's JAX backend).

NumPyro's own kernel (``numpyro.infer.NUTS(potential_fn=...)``, its defaults: diagonal mass
matrix, Stan-style windowed adaptation, max tree depth 10) driven by the shared JAX driver
(:mod:`essbench.samplers._jax`) instead of ``MCMC.run``: ``MCMC.run`` compiles inside the
call (its loop length is static, so a throw-away small run would not pay the real run's
compilation), while here warm-up (``NUTS.init`` plus ``tune`` adaptation steps) and draws are
two functions compiled ahead and timed apart. Each step is ``NUTS.sample``, the step
``MCMC.run`` takes, so the chains are NumPyro's. ``grad_evals`` sums ``num_steps`` (leapfrog
steps) over warm-up and draws. Chains, threads and XLA flags: see ``_jax``.
"""

from time import perf_counter

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
OPTIONS = jax_options(min_tune=0)
PACKAGES = ("numpyro", *JAX_PACKAGES)
ENV = "jax"
LENGTH_OPTION = "draws"
WARMUP_OPTION = "tune"
TEXTBOOK_ALPHA = 1.25
COLOR, MARKER = "#009E73", "s"
# Short enough for a quick correctness run (tests/test_samplers.py), long enough to pass it.
QUICK_OPTIONS = {"tune": 300, "draws": 300, "chains": 2}


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
