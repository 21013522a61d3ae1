"""Shared driver for NUTS run through JAX (NumPyro, BlackJAX) on the PyMC model.

The model's log-density is turned into a JAX function by PyTensor's JAX backend
(``pymc.sampling.jax.get_jaxified_graph``, the graph ``pm.sample(nuts_sampler=...)`` uses),
taking one flat vector in the problem's value-variable order, so draws need no reordering.

Each sampler gives two pure functions: ``warm(key, x0) -> (carry, warm_stats)`` (kernel
initialisation plus ``tune`` adaptation steps) and ``draw(key, carry) -> (positions,
draw_stats)`` (``draws`` steps with the adapted kernel). Both are compiled ahead of time
(``jax.jit(...).lower(...).compile()``, mapped over chains as ``chain_method`` says), and
that, with the imports, the JAX graph and the initial points, is ``compile_seconds``. The
warm-up and the draws are then timed separately, each until its results are ready, so no
compilation or tracing falls in ``warmup_seconds`` or ``draw_seconds``. The compiled
functions are kept in the problem's cache (``Problem.cache``: one model's runs in a
batch), so that model's later runs in the batch with the same options reuse them; a run
estimated shorter than ``FIRST_EXECUTION_SECONDS`` executes freshly compiled ones once before
its clock (``stat_first_execution_seconds``): their first execution is slower by milliseconds, which
timed runs of 10 ms 30% long (``benchmarks/jax_gap.py``).

Chains (option ``chain_method``):

- ``sequential`` (default): one compiled chain, run for each chain in turn; one core.
- ``vectorized``: ``jax.vmap`` over chains, one computation on one core (NUTS under vmap
  runs every chain's tree as long as the longest one of that step, so it costs more
  gradient evaluations than it reports).
- ``parallel``: ``jax.pmap`` over ``chains`` CPU devices
  (``--xla_force_host_platform_device_count``), one core per chain.

Threads: XLA's CPU client would otherwise spread large operations over every core (Eigen's
thread pool), so before JAX starts its backend ``XLA_FLAGS`` gets
``--xla_cpu_multi_thread_eigen=false`` (checked with jaxlib 0.12: CPU time then equals wall
time on a large matmul) and ``--xla_force_host_platform_device_count=<max(chains, cores)>``
(idle devices use no CPU; ``pymc.sampling.jax`` would set 100 on import); ``threads``
is thus 1, or ``chains`` for ``parallel``. The often-quoted ``intra_op_parallelism_threads=1``
is left out on purpose: it is no XLA flag, and in jaxlib 0.12 a token without ``--`` silently
ends the parsing of ``XLA_FLAGS`` (every flag after it is ignored). Flags only take effect if
JAX's backend has not started in this process yet (the workflow runs each run in its own
process); ``parallel`` checks that there are enough devices.

The study's PyTensor backend (``numba``/``c``) does not apply: these samplers always use
PyTensor's JAX backend. Float64 is enabled (``jax_enable_x64``), as in every other sampler.
"""

import os
from time import perf_counter

import numpy as np

from essbench.options import choice, count, probability
from essbench.samplers import SamplerRun

CHAIN_METHODS = ("sequential", "vectorized", "parallel")


def jax_options(min_tune: int = 0):
    return (
        count("tune", 1000, "warm-up (adaptation) steps per chain", low=min_tune),
        count("draws", 1000, "kept steps per chain"),
        count("chains", 2, "independent chains"),
        probability("target_accept", 0.8, "NUTS step-size adaptation target"),
        choice(
            "chain_method",
            "sequential",
            "`sequential` (chains in turn, 1 core), `vectorized` (`vmap`, 1 core) or"
            " `parallel` (`pmap`, one core per chain)",
            CHAIN_METHODS,
        ),
    )


JAX_PACKAGES = ("jax", "jaxlib")
SINGLE_THREAD_FLAGS = ("--xla_cpu_multi_thread_eigen=false",)
DEVICE_COUNT_FLAG = "--xla_force_host_platform_device_count"


def chain_threads(options: dict) -> int:
    if options["chain_method"] == "parallel":
        return max(1, int(options["chains"]))
    return 1


def xla_flags(current: str, devices: int) -> str:
    """``current`` with the single-thread flag and ``devices`` CPU devices set.

    Ours replace the same flags in ``current`` and go first: XLA stops parsing at a token
    that does not start with ``--``, so one in ``current`` cannot hide ours.
    """
    ours = [*SINGLE_THREAD_FLAGS, f"{DEVICE_COUNT_FLAG}={devices}"]
    keys = {flag.split("=", 1)[0] for flag in ours}
    kept = [flag for flag in current.split() if flag.split("=", 1)[0] not in keys]
    return " ".join([*ours, *kept])


def import_jax(chains: int):
    """Import JAX (and PyMC's JAX helpers) with this module's XLA flags; return ``jax``.

    At least one CPU device per chain (and per core: a later run in the same process may
    want more chains in parallel); idle devices use no CPU.
    """
    # pymc.sampling.jax rewrites XLA_FLAGS when first imported (100 host devices): set ours
    # after it, before anything starts JAX's backend.
    import pymc.sampling.jax  # noqa: F401

    devices = max(int(chains), os.cpu_count() or 1)
    os.environ["XLA_FLAGS"] = xla_flags(os.environ.get("XLA_FLAGS", ""), devices)
    import jax

    jax.config.update("jax_enable_x64", True)
    return jax


def flat_logdensity(problem):
    """The model's log-density as a JAX function of one flat float64 vector."""
    own = getattr(problem, "jax_logdensity", None)
    if own is not None:  # a log_prob file's JAX function (essbench.logprob)
        return own()
    from pymc.sampling.jax import get_jaxified_graph

    model = problem.model
    fn = get_jaxified_graph(inputs=model.value_vars, outputs=[model.logp()])
    shapes, slices = list(problem.shapes), list(problem.slices)

    def logdensity(theta):
        values = [theta[sl].reshape(shape) for sl, shape in zip(slices, shapes, strict=True)]
        return fn(*values)[0]

    return logdensity


def initial_points(problem, chains: int, seed: int, logdensity, max_retries: int = 10):
    """PyMC's own start: the model's initial point with U(-1, 1) jitter on every value
    variable (as ``pm.sample`` does), redrawn while the log-density is not finite; a log_prob
    file's own ``initial`` (essbench.logprob)."""
    own = getattr(problem, "jax_initial_points", None)
    if own is not None:
        return own(chains, seed, logdensity)
    import jax
    from pymc.initial_point import make_initial_point_fn

    fn = make_initial_point_fn(model=problem.model, jitter_rvs=set(problem.model.free_RVs))
    logp = jax.jit(logdensity)
    seeds = np.random.SeedSequence(seed).generate_state(chains * (max_retries + 1))
    points = []
    for chain in range(chains):
        for attempt in range(max_retries + 1):
            point = fn(int(seeds[chain * (max_retries + 1) + attempt]))
            x = np.concatenate([np.ravel(point[name]) for name in problem.names]).astype(float)
            if np.isfinite(float(logp(x))):
                break
        points.append(x)
    return np.stack(points)


# Runs estimated shorter than this pay their compiled functions' first execution before the
# clock (one untimed execution, at most this long); a longer run would pay it inside its
# clock, where a few milliseconds are under 0.5% of it.
FIRST_EXECUTION_SECONDS = 1.0


def _options_key(options: dict) -> tuple:
    return tuple(sorted((name, repr(value)) for name, value in options.items()))


def _ready(tree):
    import jax

    return jax.block_until_ready(tree)


def run_jax_nuts(problem, options: dict, seed: int, make_functions, start: float) -> SamplerRun:
    """Time one run. ``make_functions(problem, options, logdensity) -> (warm, draw)``.

    ``start``: when the run began (before JAX was imported), for ``compile_seconds``.
    Warm stats and draw stats are dicts of per-step arrays with ``n_steps`` and
    ``diverging``; draw stats may add ``acceptance`` and ``step_size``.
    """
    import jax

    n_draws, chains = int(options["draws"]), int(options["chains"])
    method = options["chain_method"]
    if method not in CHAIN_METHODS:
        raise ValueError(f"chain_method {method!r}: not one of {CHAIN_METHODS}")
    if method == "parallel" and jax.local_device_count() < chains:
        raise RuntimeError(
            f"chain_method='parallel' needs {chains} CPU devices, JAX has"
            f" {jax.local_device_count()}: its backend started before XLA_FLAGS could set"
            f" {DEVICE_COUNT_FLAG}; use another chain_method or a fresh process"
        )

    # The batch's runs share one problem: the compiled functions of these options are
    # compiled once (the seed only enters through the keys and starting points).
    key = ("jax_nuts", make_functions.__module__, _options_key(options))
    compiled = problem.cache.get(key)
    logdensity = compiled["logdensity"] if compiled else flat_logdensity(problem)
    x0 = initial_points(problem, chains, seed, logdensity)
    keys = jax.random.split(jax.random.PRNGKey(seed), 2 * chains).reshape(chains, 2, -1)
    warm_keys, draw_keys = keys[:, 0], keys[:, 1]

    def struct(x, lead=()):
        return jax.ShapeDtypeStruct((*lead, *x.shape[1:]), x.dtype)

    lead = () if method == "sequential" else (chains,)
    if compiled is None:
        warm, draw = make_functions(problem, options, logdensity)
        mapped = {
            "sequential": jax.jit,
            "vectorized": lambda f: jax.jit(jax.vmap(f)),
            "parallel": jax.pmap,
        }[method]
        # Trace ``warm`` before ``draw``: a kernel may set up its step function in its init.
        warm_args = (struct(warm_keys, lead), struct(x0, lead))
        warm_fn = mapped(warm).lower(*warm_args).compile()
        carry = jax.eval_shape(mapped(warm), *warm_args)[0]
        draw_fn = mapped(draw).lower(struct(draw_keys, lead), carry).compile()
        compiled = {"logdensity": logdensity, "warm": warm_fn, "draw": draw_fn, "ran": False}
        problem.cache[key] = compiled
    warm_c, draw_c = compiled["warm"], compiled["draw"]
    compile_seconds = perf_counter() - start
    # A freshly compiled function's first execution is slower (NumPyro at d = 50: 1.8 ms
    # more on a run of 12 ms, benchmarks/jax_gap.py): where that matters, a run that would
    # take under FIRST_EXECUTION_SECONDS (estimated from the last run's seconds per step on
    # this problem: the batch's throw-away run, or an earlier attempt) executes them once,
    # untimed, as the tutorial pays its throw-away chain.
    first_execution = 0.0
    per_step = problem.cache.get(("jax_nuts_step_seconds", make_functions.__module__))
    steps = chains * (int(options["tune"]) + n_draws)
    if not compiled["ran"] and per_step is not None and per_step * steps < FIRST_EXECUTION_SECONDS:
        t0 = perf_counter()
        if method == "sequential":
            _ready(draw_c(draw_keys[0], warm_c(warm_keys[0], x0[0])[0]))
        else:
            _ready(draw_c(draw_keys, warm_c(warm_keys, x0)[0]))
        first_execution = perf_counter() - t0
    compiled["ran"] = True

    if method == "sequential":
        warm_seconds = draw_seconds = 0.0
        warm_parts, draw_parts = [], []
        for c in range(chains):
            t0 = perf_counter()
            out_carry, warm_stats = _ready(warm_c(warm_keys[c], x0[c]))
            t1 = perf_counter()
            positions, draw_stats = _ready(draw_c(draw_keys[c], out_carry))
            t2 = perf_counter()
            warm_seconds += t1 - t0
            draw_seconds += t2 - t1
            warm_parts.append(jax.device_get(warm_stats))
            draw_parts.append(jax.device_get((positions, draw_stats)))
        warm_stats = {k: np.stack([p[k] for p in warm_parts]) for k in warm_parts[0]}
        positions = np.stack([p[0] for p in draw_parts])
        draw_stats = {k: np.stack([p[1][k] for p in draw_parts]) for k in draw_parts[0][1]}
    else:
        t0 = perf_counter()
        out_carry, warm_stats = _ready(warm_c(warm_keys, x0))
        t1 = perf_counter()
        positions, draw_stats = _ready(draw_c(draw_keys, out_carry))
        t2 = perf_counter()
        warm_seconds, draw_seconds = t1 - t0, t2 - t1
        warm_stats, positions, draw_stats = jax.device_get((warm_stats, positions, draw_stats))

    problem.cache[("jax_nuts_step_seconds", make_functions.__module__)] = (
        warm_seconds + draw_seconds
    ) / steps
    draws = np.asarray(positions, dtype=float)
    if draws.shape != (chains, n_draws, problem.ndim):
        expected = (chains, n_draws, problem.ndim)
        raise RuntimeError(f"draws have shape {draws.shape}, expected {expected}")
    n_steps = np.asarray(draw_stats["n_steps"])
    warm_steps = np.asarray(warm_stats["n_steps"])
    stats = {
        "divergences": int(np.sum(draw_stats["diverging"])),
        "warmup_divergences": int(np.sum(warm_stats["diverging"])),
        "tree_size_mean": float(np.mean(n_steps)),
    }
    # Per chain: each adapts its own step size and metric, and a few chains with long trees
    # can carry the pooled mean (the literature's NUTS figures are per-chain means).
    chain_trees = np.mean(n_steps.reshape(chains, -1), axis=1)
    stats["tree_size_chain_median"] = float(np.median(chain_trees))
    stats["tree_size_chain_max"] = float(np.max(chain_trees))
    if "step_size" in draw_stats:
        stats["step_size_mean"] = float(np.mean(draw_stats["step_size"]))
        # the mean over chains of step size x mean tree: the MCHMC benchmarks' "L"
        chain_steps = np.mean(np.asarray(draw_stats["step_size"]).reshape(chains, -1), axis=1)
        stats["trajectory_length_mean"] = float(np.mean(chain_steps * chain_trees))
    if "acceptance" in draw_stats:
        stats["acceptance_mean"] = float(np.mean(draw_stats["acceptance"]))
    stats["first_execution_seconds"] = first_execution
    return SamplerRun(
        draws=np.ascontiguousarray(draws),
        compile_seconds=compile_seconds,
        warmup_seconds=warm_seconds,
        draw_seconds=draw_seconds,
        grad_evals=int(np.sum(n_steps) + np.sum(warm_steps)),
        logp_evals=0,
        settings=dict(options),
        stats=stats,
    )
