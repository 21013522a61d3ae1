"""The order jobs start in: the longest estimated chain of work first.

Snakemake starts, among the jobs that are ready, those of highest ``priority``. Left at 0,
it picked among them arbitrarily, and the default study's longest single-threaded batch
(emcee at d = 64, 36 s) started after the short ones and then ran alone beside an idle core
for 24 s, because every job left was a two-thread NUTS batch that needed both cores
(``benchmarks/overhead.py``). A job's priority here is the estimated seconds of the longest
chain of work it starts: its own estimate plus the largest priority among the jobs that wait
for it (a compile job is worth the batches and the reference that read its model). That is
the classic critical-path rule: on few cores, long jobs first pack the rest around them.

The estimates are guesses from a run's size (``resources.sampling_seconds_guess``), bounded
by the run's budget; they only order jobs, never limit or judge one. Priorities change no
output, so a study's results and its resumption are the same with any of them.
"""

from essbench import registry
from essbench import resources as ebresources

# A run job's fixed cost: interpreter, imports, the first model's build and throw-away run
# (later models' cost less: the sampler's first-use compiles are paid once per process).
BATCH_START_SECONDS = 5.0
# A compile job: building and compiling one model.
COMPILE_SECONDS = 5.0


def run_seconds(sampler: str, options: dict, dim: int, budget_seconds=None, ess_goal=None):
    """One run's estimated sampling seconds: its size-based guess, at most its budget
    (an ESS-goal run stops at its goal or its budget, whichever comes first)."""
    guess = ebresources.sampling_seconds_guess(sampler, options, dim)
    if ess_goal:
        guess = min(guess, float(ess_goal["budget_seconds"]))
    if budget_seconds:
        guess = min(guess, float(budget_seconds))
    return guess


def batch_seconds(
    sampler: str, options: dict, dims: list[int], budget_seconds=None, ess_goal=None
) -> float:
    """A batch job's estimated seconds: its start plus its runs (one per entry of ``dims``,
    each run's dimension), one after the other."""
    return BATCH_START_SECONDS + sum(
        run_seconds(sampler, options, dim, budget_seconds, ess_goal) for dim in dims
    )


def reference_seconds(target: str) -> float:
    """A reference job's estimate: a quarter of the minutes it asks a cluster for."""
    return 60.0 * registry.target(target).REFERENCE_MINUTES / 4


def upstream_priority(own_seconds: float, waiting: list[float]) -> float:
    """A job's priority: its own estimate plus the largest priority of the jobs that wait
    for it (0 when none does)."""
    return own_seconds + max(waiting, default=0.0)
