"""ESS-goal runs: sample until the worst parameter's bulk ESS reaches the study's ESS goal.

A study with ``ess_goal: {ess: 400, budget_seconds: 1800}`` runs every sampler this way
instead of for a fixed number of draws (an importance-weighted run, nested sampling, is held
to Kish's ESS of its weights instead: ``ess_kish_at_stop``). Two strategies, chosen by what
the sampler offers:

- **continue** (the sampler module has ``chunks``): warm up and draw the configured length,
  then keep extending the *same* chains in chunks, each sized from the ESS so far, until
  ``ess_bulk_min >= ess``. The draws are every kept draw; sampling time is the sum of the
  chunks' times (warm-up included once).
- **restart** (every other sampler, e.g. one ``pm.sample`` call per run): run the configured
  length; when the ESS falls short, run again from scratch with more draws (from the ESS
  shortfall, at least twice as many). The draws, ESS and cost per ESS are the final
  attempt's; ``time_to_goal_seconds`` adds up every attempt, because that is what reaching
  the goal took.

A run stops without reaching the goal when its next chunk or attempt would not fit in the
sampling budget (``budget_seconds``) or would make the chain longer than ``max_growth``
times the configured length (this bounds memory). Such a run is **censored**: its time to
goal is only a lower bound; its draws and diagnostics are kept and reported as usual, and
tables, figures and the summary mark it. The ESS checks between chunks are not sampling time
and are reported as ``ess_goal_check_seconds``.
"""

import math
from dataclasses import replace
from time import perf_counter

import numpy as np

from essbench import metrics
from essbench.samplers import SamplerRun

# Aim a little past the goal: the ESS of a longer chain is itself an estimate.
OVERSHOOT = 1.2
# A chunk adds at least this fraction of the chain (fewer checks) ...
MIN_CHUNK = 0.25
# ... and a restart at least doubles the length.
MIN_RESTART_GROWTH = 2.0


def ess_bulk_min(draws: np.ndarray, threads: int = 1) -> float:
    return float(np.min(metrics.ess_bulk(draws, threads)))


def goal_ess(run: SamplerRun, threads: int = 1) -> tuple[float, str]:
    """The ESS a run is held to its goal by, and its name: the worst parameter's bulk ESS, or
    Kish's ESS of an importance-weighted run's weights (nested samplers)."""
    if run.weights is not None:
        return metrics.kish_ess(run.weights), "kish"
    return ess_bulk_min(run.draws, threads), "bulk_min"


def _wanted(length: int, ess: float, goal: float) -> int:
    """Total length expected to give ``goal`` (ESS grows about linearly with length)."""
    if not ess > 0 or not math.isfinite(ess):
        return 2 * length
    return math.ceil(length * OVERSHOOT * goal / ess)


def run_to_goal(
    module,
    problem,
    options: dict,
    seed: int,
    goal: float,
    budget_seconds: float,
    max_growth: float = 16.0,
    threads: int = 1,
) -> tuple[SamplerRun, dict]:
    """Run ``module`` until ``ess_bulk_min >= goal``; return the run and what it took."""
    strategy = _continue if hasattr(module, "chunks") else _restart
    return strategy(module, problem, options, seed, goal, budget_seconds, max_growth, threads)


def _info(strategy, goal, ess, seconds, steps, check, reason, basis="bulk_min"):
    return {
        "ess_goal": float(goal),
        "ess_goal_strategy": strategy,
        "ess_goal_reached": bool(ess >= goal),
        "censored": bool(ess < goal),
        "censored_reason": "" if ess >= goal else reason,
        "time_to_goal_seconds": float(seconds),
        "ess_goal_steps": int(steps),
        "ess_goal_check_seconds": float(check),
        f"ess_{basis}_at_stop": float(ess),
    }


def _continue(module, problem, options, seed, goal, budget, max_growth, threads):
    key = module.LENGTH_OPTION
    cap = math.floor(max_growth * int(options[key]))
    chunks = module.chunks(problem, options, seed)
    first = next(chunks)
    parts, total = [first.draws], first
    length = first.draws.shape[1]
    check, steps, reason = 0.0, 1, ""
    while True:
        start = perf_counter()
        draws = np.concatenate(parts, axis=1) if len(parts) > 1 else parts[0]
        parts = [draws]
        ess = ess_bulk_min(draws, threads)
        check += perf_counter() - start
        if ess >= goal:
            break
        more = max(_wanted(length, ess, goal) - length, math.ceil(MIN_CHUNK * length))
        more = min(more, cap - length)
        # Draw seconds per step so far (warm-up excluded) predict the next chunk.
        rate = total.draw_seconds / length
        fits = math.floor((budget - total.sampling_seconds) / rate) if rate > 0 else more
        if more <= 0:
            reason = f"length cap: {length} draws per chain is max_growth x {options[key]}"
            break
        if fits < more:
            reason = (
                f"budget: {more} more draws per chain would take about {more * rate:.0f} s,"
                f" {max(budget - total.sampling_seconds, 0):.0f} s of {budget:g} s left"
            )
            break
        chunk = chunks.send(more)
        parts.append(chunk.draws)
        length += chunk.draws.shape[1]
        steps += 1
        total = _add(total, chunk)
    chunks.close()
    total = replace(total, draws=draws, settings={**total.settings, key: length})
    info = _info("continue", goal, ess, total.sampling_seconds, steps, check, reason)
    return total, info


def _add(total: SamplerRun, chunk: SamplerRun) -> SamplerRun:
    """The run so far plus one chunk (times and work add; the chunk's stats are the latest)."""
    return replace(
        total,
        warmup_seconds=total.warmup_seconds + chunk.warmup_seconds,
        draw_seconds=total.draw_seconds + chunk.draw_seconds,
        grad_evals=total.grad_evals + chunk.grad_evals,
        logp_evals=total.logp_evals + chunk.logp_evals,
        stats={**total.stats, **chunk.stats},
    )


def _restart(module, problem, options, seed, goal, budget, max_growth, threads):
    key = module.LENGTH_OPTION
    base = int(options[key])
    cap = math.floor(max_growth * base)
    length, spent, check, steps, reason = base, 0.0, 0.0, 0, ""
    while True:
        run = module.run(problem, {**options, key: length}, seed)
        spent += run.sampling_seconds
        steps += 1
        start = perf_counter()
        ess, basis = goal_ess(run, threads)
        check += perf_counter() - start
        if ess >= goal:
            break
        wanted = max(_wanted(length, ess, goal), math.ceil(MIN_RESTART_GROWTH * length))
        wanted = min(wanted, cap)
        # Seconds per draw of this attempt (warm-up included: a restart warms up again).
        predicted = run.sampling_seconds * wanted / length
        if wanted <= length:
            reason = f"length cap: {length} draws per chain is max_growth x {base}"
            break
        if spent + predicted > budget:
            reason = (
                f"budget: a run of {wanted} draws per chain would take about {predicted:.0f} s,"
                f" {max(budget - spent, 0):.0f} s of {budget:g} s left"
            )
            break
        length = wanted
    run = replace(run, settings={**run.settings, key: length})
    return run, _info("restart", goal, ess, spent, steps, check, reason, basis)
