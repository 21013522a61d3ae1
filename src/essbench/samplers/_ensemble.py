"""Shared driver for ensemble samplers (walkers as chains): emcee's stretch move and zeus's
slice moves differ only in the engine that advances the walkers."""

import math
from time import perf_counter

import numpy as np

from essbench.options import Option, count, positive
from essbench.samplers import SamplerRun

ENSEMBLE_OPTIONS = (
    count("burn", 1000, "burn-in steps (timed as warm-up, not kept)", low=0),
    count("steps", 2000, "kept steps"),
    Option(
        "nwalkers",
        int,
        None,
        "walkers; unset means `walkers_per_dim × dim` rounded up to even, at least `2 dim + 2`",
        low=2,
        nullable=True,
    ),
    positive(
        "walkers_per_dim",
        2.5,
        "walkers per dimension when `nwalkers` is unset (the tutorial used 124 at d = 50)",
    ),
)


def walkers(dim: int, options: dict) -> int:
    """Walkers for a run: ``nwalkers`` when set, else ``walkers_per_dim * dim`` rounded up to
    an even number and at least ``2 * dim + 2`` (emcee's stretch move needs more than 2d)."""
    if options.get("nwalkers") is not None:
        return int(options["nwalkers"])
    n = math.ceil(float(options["walkers_per_dim"]) * dim)
    n += n % 2
    return max(n, 2 * dim + 2)


def prefault(n_floats: int) -> None:
    """Touch (and free) as much memory as the chain will take, before the timer.

    The chain (steps x walkers x params, grown by concatenation) is the one large allocation
    of an ensemble run. On these virtual machines the first touch of memory the process never
    had costs far more than a later one: without this, the first run in a process sampled up
    to 30% slower than the same run third in a batch (emcee_vectorized, d = 50, 124 walkers x
    6000 steps; benchmarks/batch_position.py), and a fresh process varied by as much. Counted
    with compilation, as set-up."""
    block = np.ones(n_floats)
    del block


def nan_as_rejected(logp, batched: bool = False):
    """``(f, count)``: ``logp`` with a NaN log density turned into -inf (the proposal is
    rejected, as Stan and PyMC treat it), and a one-item list counting the NaNs.

    emcee and zeus raise on a NaN, which ended every zeus run on accel_gp in the answer
    study: zeus's walkers strayed to log length-scales of ~709, where the kernel's spectral
    density is 0 x inf (seen 2026-12-05: 385 NaNs in 1.36 million calls of one run). The
    other samplers simply reject such a point. The check is inside the clock, as the
    sampler's own NaN check was: one comparison per call beside the compiled log density's
    microseconds."""
    count = [0]
    if batched:

        def f(thetas):
            values = logp(thetas)
            bad = np.isnan(values)
            if bad.any():
                count[0] += int(bad.sum())
                values = np.where(bad, -np.inf, values)
            return values

        return f, count

    def g(theta):
        value = logp(theta)
        if value != value:
            count[0] += 1
            return -math.inf
        return value

    return g, count


class Engine:
    """Advances an ensemble: ``advance(n, init)`` runs ``n`` steps (from ``init`` the first
    time) and returns the log-density calls they made; ``last(n)`` is the latest ``n`` steps'
    positions, (steps, walkers, params); ``stats()`` the run's summary statistics.
    ``nan_count``: :func:`nan_as_rejected`'s counter of the log density it was given."""

    def __init__(self, sampler, nwalkers: int, nan_count=None):
        self.sampler, self.nwalkers, self.pending = sampler, nwalkers, None
        self.nan_count = nan_count

    def _run(self, start, n: int) -> int:  # pragma: no cover - each engine's own
        raise NotImplementedError

    def advance(self, n: int, init=None) -> int:
        if init is not None:
            self.pending = init
        if n <= 0:
            return 0
        start, first = self.pending, self.pending is not None
        self.pending = None
        # The initial state is evaluated once (nwalkers calls), then the steps.
        return self._run(start, n) + (self.nwalkers if first else 0)

    def last(self, n: int) -> np.ndarray:
        return self.sampler.get_chain()[-n:]

    def stats(self) -> dict:
        return {}

    def all_stats(self) -> dict:
        """The engine's statistics and the NaN log densities rejected so far."""
        nan = {} if self.nan_count is None else {"nan_logp_evals": int(self.nan_count[0])}
        return {**self.stats(), **nan}


def run_ensemble(problem, options: dict, seed: int, make_engine) -> SamplerRun:
    return next(ensemble_chunks(problem, options, seed, make_engine))


def ensemble_chunks(problem, options: dict, seed: int, make_engine):
    """Burn-in and ``steps`` kept steps, then (for each ``n`` sent) ``n`` more of the same
    chains: the ESS-goal protocol of :mod:`essbench.samplers`.

    ``make_engine(problem, nwalkers, rng, seed) -> Engine`` compiles what it needs and seeds
    its sampler (after the initial points are drawn from ``rng``). That preparation (and
    the memory's first touch) is done here, before the generator is returned: an ESS-goal
    run's first timed section (``next``) is the sampling alone."""
    start = perf_counter()
    nwalkers = walkers(problem.dim, options)
    rng = np.random.RandomState(seed)
    init = problem.initial_points(nwalkers, rng)
    engine = make_engine(problem, nwalkers, rng, seed)
    burn, steps = int(options["burn"]), int(options["steps"])
    prefault(2 * (burn + steps) * nwalkers * problem.ndim)
    compile_seconds = perf_counter() - start
    return _chunks(engine, init, burn, steps, nwalkers, compile_seconds)


def _chunks(engine, init, burn: int, steps: int, nwalkers: int, compile_seconds: float):
    start = perf_counter()
    calls_burn = engine.advance(burn, init)
    mid = perf_counter()
    calls = engine.advance(steps)
    end = perf_counter()
    more = yield SamplerRun(
        draws=_walkers_first(engine.last(steps)),
        compile_seconds=compile_seconds,
        warmup_seconds=mid - start,
        draw_seconds=end - mid,
        grad_evals=0,
        logp_evals=calls_burn + calls,
        settings={"burn": burn, "steps": steps, "nwalkers": nwalkers},
        stats={**engine.all_stats(), "logp_evals_burn": calls_burn},
    )
    while True:
        start = perf_counter()
        calls = engine.advance(more)
        seconds = perf_counter() - start
        more = yield SamplerRun(
            draws=_walkers_first(engine.last(more)),
            compile_seconds=0.0,
            warmup_seconds=0.0,
            draw_seconds=seconds,
            grad_evals=0,
            logp_evals=calls,
            stats=engine.all_stats(),
        )


def _walkers_first(chain: np.ndarray) -> np.ndarray:
    """(steps, walkers, params) -> contiguous (walkers, steps, params)."""
    return np.ascontiguousarray(np.swapaxes(chain, 0, 1))
