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

With ``reliable: true`` (the default) the goal is a *trustworthy* ESS: a run also keeps
growing while its ESS would be flagged as unreliable by a rule that a longer chain can fix,
i.e. while its largest R-hat exceeds its threshold (:func:`essbench.policy.rhat_threshold`)
or, for ensembles, while its chains are shorter than ``MIN_CHAIN_OVER_TAU`` autocorrelation
times. Split R-hat - 1 and 1 / (chain / τ) both shrink about as 1 / length, which sizes the
next chunk. Divergences are not fixed by length and do not make a run grow.

A run stops without reaching the goal when its next chunk or attempt would not fit in the
sampling budget (``budget_seconds``) or would make the chain longer than ``max_growth``
times the configured length (this bounds memory). Such a run is **censored**: its time to
goal is only a lower bound; its draws and diagnostics are kept and reported as usual, and
tables, figures and the summary mark it. The ESS checks between chunks are not sampling time
and are reported as ``ess_goal_check_seconds``.
"""

import contextlib
import math
from dataclasses import dataclass, replace
from time import perf_counter

import numpy as np

from essbench import metrics, policy
from essbench.samplers import SamplerRun

# Aim a little past the goal: the ESS of a longer chain is itself an estimate.
OVERSHOOT = 1.2
# A chunk adds at least this fraction of the chain (fewer checks) ...
MIN_CHUNK = 0.25
# ... and a restart at least doubles the length.
MIN_RESTART_GROWTH = 2.0


def ess_bulk_min(draws: np.ndarray, threads: int = 1) -> float:
    return float(np.min(metrics.ess_bulk(draws, threads)))


@dataclass(frozen=True)
class Goal:
    """What a run must reach: ``ess`` bulk ESS on its worst parameter and, when
    ``reliable``, an R-hat under its threshold and (``ensemble``) chains of 50 τ."""

    ess: float
    reliable: bool = False
    ensemble: bool = False

    def shortfall(self, run: SamplerRun, threads: int = 1) -> tuple[float, float, str, str]:
        """(the ESS the goal holds the run to, the factor by which it should grow (<= 1:
        reached), why, the ESS's name). An importance-weighted run (nested samplers) is held
        to Kish's ESS of its weights, which a longer run (more live points) raises; R-hat
        and chain/tau do not apply to it."""
        if run.weights is not None:
            ess = metrics.kish_ess(run.weights)
            return ess, _factor(ess, self.ess), f"Kish ESS {ess:.0f} < {self.ess:g}", "kish"
        draws = run.draws
        if not self.reliable:
            ess = ess_bulk_min(draws, threads)
            return ess, _factor(ess, self.ess), f"bulk ESS {ess:.0f} < {self.ess:g}", "bulk_min"
        per = metrics.per_parameter_once(draws, threads, walkers=self.ensemble)
        ess = float(np.min(per["ess_bulk"]))
        factors = {f"bulk ESS {ess:.0f} < {self.ess:g}": _factor(ess, self.ess)}
        chains, length, n_params = draws.shape
        threshold = policy.rhat_threshold(chains, length, n_params)
        rhat = float(np.max(per["rhat"]))
        if not rhat <= threshold:
            grow = (rhat - 1) / (threshold - 1) if math.isfinite(rhat) else 2.0
            factors[f"R-hat {rhat:.3f} > {threshold:.3g}"] = grow
        if self.ensemble:
            ratio = metrics.autocorr(draws, threads, per)["chain_over_tau"]
            limit = policy.MIN_CHAIN_OVER_TAU
            if not ratio >= limit:
                grow = limit / ratio if ratio > 0 and math.isfinite(ratio) else 2.0
                factors[f"chain/tau {ratio:.1f} < {limit:g}"] = grow
        why, factor = max(factors.items(), key=lambda kv: kv[1])
        return ess, factor, why, "bulk_min"


def _factor(ess: float, goal: float) -> float:
    if not ess > 0 or not math.isfinite(ess):
        return 2.0
    return goal / ess


def _wanted(length: int, factor: float) -> int:
    """Total length expected to close the shortfall (its measures scale with length)."""
    return math.ceil(length * OVERSHOOT * factor)


def run_to_goal(
    module,
    problem,
    options: dict,
    seed: int,
    goal: float,
    budget_seconds: float,
    max_growth: float = 16.0,
    threads: int = 1,
    reliable: bool = False,
    timed=contextlib.nullcontext,
) -> tuple[SamplerRun, dict]:
    """Run ``module`` until it reaches the goal (see :class:`Goal`); return the run and
    what it took.

    ``timed``: a context manager factory wrapped around each call of the sampler (an
    attempt, or a chunk), not around the checks between them
    (:meth:`essbench.clock.Sections.timed`)."""
    strategy = _continue if hasattr(module, "chunks") else _restart
    target = Goal(float(goal), bool(reliable), bool(getattr(module, "ENSEMBLE", False)))
    return strategy(
        module, problem, options, seed, target, budget_seconds, max_growth, threads, timed
    )


def _info(strategy, goal: Goal, ess, factor, seconds, steps, check, reason, basis="bulk_min"):
    reached = factor <= 1
    return {
        "ess_goal": goal.ess,
        "ess_goal_reliable": goal.reliable,
        "ess_goal_strategy": strategy,
        "ess_goal_reached": bool(reached),
        "censored": bool(not reached),
        "censored_reason": "" if reached else reason,
        "time_to_goal_seconds": float(seconds),
        "ess_goal_steps": int(steps),
        "ess_goal_check_seconds": float(check),
        f"ess_{basis}_at_stop": float(ess),
    }


def _unit(module) -> str:
    """What the length option counts (a plugin's ``LENGTH_UNIT``; a bare module: draws)."""
    return getattr(module, "LENGTH_UNIT", None) or "draws per chain"


def _continue(module, problem, options, seed, goal, budget, max_growth, threads, timed):
    key, unit = module.LENGTH_OPTION, _unit(module)
    cap = math.floor(max_growth * int(options[key]))
    chunks = module.chunks(problem, options, seed)
    with timed():
        first = next(chunks)
    parts, total = [first.draws], first
    length = first.draws.shape[1]
    check, steps, reason = 0.0, 1, ""
    while True:
        start = perf_counter()
        draws = np.concatenate(parts, axis=1) if len(parts) > 1 else parts[0]
        parts = [draws]
        ess, factor, why, basis = goal.shortfall(replace(total, draws=draws), threads)
        check += perf_counter() - start
        if factor <= 1:
            break
        more = max(_wanted(length, factor) - length, math.ceil(MIN_CHUNK * length))
        more = min(more, cap - length)
        # Draw seconds per step so far (warm-up excluded) predict the next chunk.
        rate = total.draw_seconds / length
        fits = math.floor((budget - total.sampling_seconds) / rate) if rate > 0 else more
        if more <= 0:
            reason = f"{why}; length cap: {length} {unit} is max_growth x {options[key]}"
            break
        if fits < more:
            reason = (
                f"{why}; budget: {more} more {unit} would take about {more * rate:.0f} s,"
                f" {max(budget - total.sampling_seconds, 0):.0f} s of {budget:g} s left"
            )
            break
        with timed():
            chunk = chunks.send(more)
        parts.append(chunk.draws)
        length += chunk.draws.shape[1]
        steps += 1
        total = _add(total, chunk)
    chunks.close()
    total = replace(total, draws=draws, settings={**total.settings, key: length})
    info = _info("continue", goal, ess, factor, total.sampling_seconds, steps, check, reason, basis)
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


def _restart(module, problem, options, seed, goal, budget, max_growth, threads, timed):
    key, unit = module.LENGTH_OPTION, _unit(module)
    base = int(options[key])
    cap = math.floor(max_growth * base)
    length, spent, check, steps, reason = base, 0.0, 0.0, 0, ""
    while True:
        with timed():
            run = module.run(problem, {**options, key: length}, seed)
        spent += run.sampling_seconds
        steps += 1
        start = perf_counter()
        ess, factor, why, basis = goal.shortfall(run, threads)
        check += perf_counter() - start
        if factor <= 1:
            break
        wanted = max(_wanted(length, factor), math.ceil(MIN_RESTART_GROWTH * length))
        wanted = min(wanted, cap)
        # Seconds per draw of this attempt (warm-up included: a restart warms up again).
        predicted = run.sampling_seconds * wanted / length
        if wanted <= length:
            reason = f"{why}; length cap: {length} {unit} is max_growth x {base}"
            break
        if spent + predicted > budget:
            reason = (
                f"{why}; budget: a run of {wanted} {unit} would take about"
                f" {predicted:.0f} s,"
                f" {max(budget - spent, 0):.0f} s of {budget:g} s left"
            )
            break
        length = wanted
    run = replace(run, settings={**run.settings, key: length})
    return run, _info("restart", goal, ess, factor, spent, steps, check, reason, basis)
