"""Stan's own NUTS (``hmc_nuts_diag_e_adapt``: diagonal metric, windowed adaptation) through
pystan, on the target's Stan program (``STAN_PROGRAM``, see :mod:`essbench.stan`).

Options under the names every NUTS sampler here uses: ``tune`` is Stan's ``num_warmup``,
``draws`` its ``num_samples``, ``target_accept`` its ``adapt delta``, ``max_treedepth`` its
``max_depth``; ``cores`` bounds the chain processes. Stan's own initialisation (uniform on
(-2, 2) in the unconstrained space) and its default adaptation windows are kept.

Compilation: ``stan.build`` of the program with the target's data, once per batch
(``Problem.cache``); the workflow's ``compile_stan`` rule has compiled it into the shared
cache before, so a run only loads it (``compile_seconds``: the import of pystan and that
load). Each run then samples with its own seed (``random_seed`` of the built model).

Timing: ``warmup_seconds`` and ``draw_seconds`` come from Stan itself: each chain's
``Elapsed Time`` (Stan's steady clock around its warm-up loop and around its sampling loop,
in whole milliseconds; it leaves out the chain's initialisation, the start of its process
and the transfer of its draws to Python). Chains run in ``min(chains, cores)`` processes,
in order, each taking the next chain when it is free; the run's sampling time is the length
of that schedule (one core: the sum over chains; a core per chain: the slowest chain),
split into warm-up and draws in proportion to the chains' own warm-up and sampling times.
``stat_wall_seconds`` is this process's clock around the whole ``model.sample`` call: it
adds httpstan's in-process HTTP server, forking the chain processes (the first run of a
batch) and loading the model in each, Stan's initialisation, pystan's polling (every
0.05 s) and its parsing of the draws.

The timed call writes the draws only, as pystan's documented use does (``save_warmup``
off): Stan writes each iteration it keeps inside its own clock, and the warm-up's made that
warm-up 7x as long at d = 50 (issue 27: the pipeline's Stan runs were 1.6x as slow as the
library's own use). The warm-up's leapfrog steps and divergences (``grad_evals``,
``stat_warmup_divergences``) come from :func:`essbench.stan.sample_nuts`'s replay of the
same seed's warm-up, outside the clock (``stat_warmup_replay_seconds``).

ESS-goal runs restart (``essbench.ess_goal``): pystan cannot extend a chain it has run.
"""

from time import perf_counter

import numpy as np

from essbench import stan
from essbench.options import count
from essbench.samplers import SamplerRun
from essbench.samplers._pymc import TARGET_ACCEPT, pm_options

NAME = "stan_nuts"
DESCRIPTION = "Stan NUTS (pystan/httpstan) on the target's Stan program"
NEEDS_GRADIENT = True
ENSEMBLE = False
OPTIONS = (
    *pm_options(),
    TARGET_ACCEPT,
    count("max_treedepth", 10, "NUTS maximum tree depth (Stan's max_depth)"),
)
PACKAGES = ("pystan", "httpstan")
ENV = "stan"
LENGTH_OPTION = "draws"
WARMUP_OPTION = "tune"
TEXTBOOK_ALPHA = 1.25  # HMC/NUTS: d^(1/4) more steps per ESS, each O(d)
COLOR, MARKER = "#B2182B", "8"
# Short enough for a quick correctness run (tests/test_samplers.py), long enough to pass it.
QUICK_OPTIONS = {"tune": 300, "draws": 300, "chains": 2, "cores": 1}
# A study skips (rather than refuses) the targets without a Stan program (the transit
# target, a user's PyMC-only model): "every sampler on every target" configs stay valid,
# and the README's compatibility table says which pairs do not run and why.
SKIP_UNSUPPORTED = True
# The workflow compiles the target's Stan program (rule compile_stan) before its runs.
STAN_MODEL = True
# Stan's per-iteration quantities -> the names of every NUTS sampler's sample_stats.
STAT_NAMES = {
    "divergent": "diverging",
    "n_leapfrog": "n_steps",
    "stepsize": "step_size",
    "treedepth": "tree_depth",
    "energy": "energy",
    "accept_stat": "acceptance_rate",
}


def threads(options: dict) -> int:
    """Cores a run keeps busy: its chain processes, plus this process, whose httpstan
    server reads every draw each chain writes to its socket while the chain samples (a
    select loop polling every millisecond). With one core for both, a chain waits on its
    reader: on the 2-core machines stan_nuts sampled 1.8x slower beside a busy neighbour
    job, which the chain-only count let Snakemake schedule beside it (issue 27)."""
    return max(1, min(int(options["chains"]), int(options["cores"]))) + 1


def unsupported(target) -> str | None:
    """Why this sampler cannot run on ``target`` (None: it can)."""
    program = getattr(target.module, "STAN_PROGRAM", None)
    if program is None:
        return "no Stan program: the target module declares no STAN_PROGRAM"
    if stan.has_data_block(program) and getattr(target.module, "stan_data", None) is None:
        return "its STAN_PROGRAM has a data block but the module declares no stan_data"
    return None


def load_model(problem):
    """The batch's built Stan model (built, i.e. loaded from the cache, on first use)."""
    model = problem.cache.get("stan")
    if model is None:
        program, data = stan.target_program(problem.module, problem.dim, problem.options)
        model = problem.cache["stan"] = stan.build(program, data)
    return model


def makespan(seconds: np.ndarray, workers: int) -> float:
    """How long chains of these durations take on ``workers`` processes, each process
    taking the next chain in order when it is free (``ProcessPoolExecutor``'s queue)."""
    free = np.zeros(max(1, min(int(workers), len(seconds))))
    for duration in seconds:
        free[np.argmin(free)] += duration
    return float(np.max(free)) if len(seconds) else 0.0


def run(problem, options: dict, seed: int) -> SamplerRun:
    start = perf_counter()
    model = load_model(problem)
    compile_seconds = perf_counter() - start

    tune, n_draws, chains = int(options["tune"]), int(options["draws"]), int(options["chains"])
    workers = max(1, min(chains, int(options["cores"])))
    fit = stan.sample_nuts(
        model,
        [rv.name for rv in problem.model.free_RVs],
        seed,
        chains,
        workers,
        num_warmup=tune,
        num_samples=n_draws,
        delta=float(options["target_accept"]),
        max_depth=int(options["max_treedepth"]),
    )
    kept = {name: values[:, tune:] for name, values in fit.params.items()}
    flat = {
        name: values.reshape(chains * n_draws, *values.shape[2:]) for name, values in kept.items()
    }
    draws = stan.to_value_space(problem, flat).reshape(chains, n_draws, problem.ndim)

    stats = {STAT_NAMES[k]: v[:, tune:] for k, v in fit.stats.items() if k in STAT_NAMES}
    stats["diverging"] = stats["diverging"].astype(bool)
    stats["n_steps"] = stats["n_steps"].astype(int)
    stats["tree_depth"] = stats["tree_depth"].astype(int)
    warm_steps = fit.stats["n_leapfrog"][:, :tune]
    total = makespan(fit.warmup_seconds + fit.sampling_seconds, workers)
    chain_total = float(np.sum(fit.warmup_seconds + fit.sampling_seconds))
    share = float(np.sum(fit.warmup_seconds)) / chain_total if chain_total else 0.0
    return SamplerRun(
        draws=np.ascontiguousarray(draws),
        compile_seconds=compile_seconds,
        warmup_seconds=total * share,
        draw_seconds=total * (1.0 - share),
        grad_evals=int(np.sum(warm_steps) + np.sum(stats["n_steps"])),
        logp_evals=0,
        settings=dict(options),
        sample_stats=stats,
        stats={
            "divergences": int(np.sum(stats["diverging"])),
            "warmup_divergences": int(np.sum(fit.stats["divergent"][:, :tune])),
            "tree_size_mean": float(np.mean(stats["n_steps"])),
            "step_size_mean": float(np.mean(stats["step_size"])),
            "acceptance_mean": float(np.mean(stats["acceptance_rate"])),
            "max_treedepth_hits": int(np.sum(stats["tree_depth"] >= int(options["max_treedepth"]))),
            "wall_seconds": fit.wall_seconds,
            "warmup_replay_seconds": fit.replay_seconds,
            "chain_seconds_sum": chain_total,
        },
    )
