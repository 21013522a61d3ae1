"""Resource requests per job (memory, runtime), scaled with the run's size.

Used by the rules' ``resources:`` so that a cluster scheduler (profiles/slurm) gets honest
requests; a local run only uses them to bound parallel memory use.
"""

import math

from essbench import registry

BASE_MB = 1500  # Python + PyMC + PyTensor + ArviZ imports, compiled functions
BYTES = 8


def _draw_count(sampler: str, options: dict, dim: int, growth: float = 1.0) -> int:
    """Draws a run holds: warm-up (when the sampler keeps it) plus ``growth`` x the kept
    length (ESS-goal runs may grow their chains up to ``max_growth`` times)."""
    plugin = registry.sampler(sampler)
    length = int(options[plugin.LENGTH_OPTION]) if plugin.LENGTH_OPTION else 1000
    warmup = int(options[plugin.WARMUP_OPTION]) if plugin.WARMUP_OPTION else 0
    chains = plugin.walkers(dim, options) if plugin.ENSEMBLE else int(options.get("chains", 1))
    return chains * int(warmup + growth * length)


def run_mem_mb(sampler: str, options: dict, dim: int, ess_goal: dict | None = None) -> int:
    """Draws (plus warm-up kept by the sampler) x 4 copies (sampler, split, ranks, FFT)."""
    growth = float(ess_goal["max_growth"]) if ess_goal else 1.0
    draws_mb = _draw_count(sampler, options, dim, growth) * dim * BYTES / 2**20
    return int(BASE_MB + math.ceil(4 * draws_mb))


def run_runtime_min(
    sampler: str, options: dict, dim: int, budget_seconds=None, ess_goal: dict | None = None
) -> int:
    """Minutes: the run's budget with a margin when set, else a generous size-based guess.

    In ESS-goal mode the sampling budget bounds the run (a chunk never starts that
    would not fit), plus build, compile and the ESS checks: twice the budget, plus 10 min.
    """
    if ess_goal:
        limit = 2 * float(ess_goal["budget_seconds"])
        if budget_seconds:
            limit = min(limit, 1.5 * budget_seconds)
        return int(math.ceil(limit / 60)) + 10
    if budget_seconds:
        return int(math.ceil(1.5 * budget_seconds / 60)) + 5
    return int(10 + math.ceil(10 * sampling_seconds_guess(sampler, options, dim) / 60))


def sampling_seconds_guess(sampler: str, options: dict, dim: int) -> float:
    """A run's sampling seconds from its size alone: about 50 us per log-density (or
    gradient) evaluation at d = 50, linear in d, ten evaluations per draw for a sampler that
    needs gradients. A guess, for limits (x 10) and for the order jobs start in."""
    evals = _draw_count(sampler, options, dim) * (
        10 if registry.sampler(sampler).NEEDS_GRADIENT else 1
    )
    return evals * 1e-6 * max(dim, 1)


def diagnose_threads(sampler: str) -> int:
    """Threads an ensemble run's diagnostics would like (walkers x steps draws per
    parameter: two), 1 otherwise. Since runs are batched, the diagnostics run on the
    batch's sampling cores instead (holding a second core idled it through the sampling);
    kept for benchmarks/diagnostics.py's "rule" column."""
    return 2 if registry.sampler(sampler).ENSEMBLE else 1
