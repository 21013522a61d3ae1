"""The answer in words: per target and dimension, each sampler's cost per effective sample as
a multiple of the study's baseline sampler's, with a bootstrap interval over replicates.

The ratio is that of geometric means of the replicates' costs (``cost_per_ess_mean``:
sampling seconds ÷ mean bulk ESS): costs are positive and skewed, and a ratio of geometric
means is the exponential of a difference of means of logs, which a bootstrap handles well.
The interval resamples each sampler's replicates with replacement, independently (its
coverage on synthetic runs with a known ratio is tested in tests/test_calibration.py). A
sentence says when a cell's runs are flagged or censored, because then its number is not
what it seems.
"""

import math

import numpy as np
import pandas as pd

from essbench.aggregate import contenders
from essbench.plots import _order

METRIC = "cost_per_ess_mean"
MIN_REPLICATES = 2


def ratio_interval(costs, baseline_costs, n_boot: int = 2000, level: float = 0.95, seed=0):
    """(ratio, lo, hi) of geometric-mean costs, percentile bootstrap over replicates."""
    a = np.log(np.asarray(costs, float))
    b = np.log(np.asarray(baseline_costs, float))
    ratio = math.exp(a.mean() - b.mean())
    rng = np.random.default_rng(seed)
    boot_a = rng.choice(a, size=(n_boot, a.size)).mean(axis=1)
    boot_b = rng.choice(b, size=(n_boot, b.size)).mean(axis=1)
    lo, hi = np.quantile(np.exp(boot_a - boot_b), [(1 - level) / 2, (1 + level) / 2])
    return ratio, float(lo), float(hi)


def _caveat(name: str, cell: pd.DataFrame) -> str:
    """What the flags of a sampler's runs in one cell mean for its number ("" if none)."""
    n, parts = len(cell), []

    def count(column):
        return int(cell[column].fillna(False).astype(bool).sum()) if column in cell else 0

    censored, unreliable, biased = count("censored"), count("unreliable"), count("biased")
    flagged = cell[cell["unreliable"].fillna(False).astype(bool)] if unreliable else cell[:0]
    reasons = [r for r in flagged["unreliable_reason"].dropna() if r] if unreliable else []
    why = f" ({reasons[0].split(';')[0]})" if reasons else ""
    short = (
        cell["censored"].fillna(False).astype(bool)
        & cell["unreliable"].fillna(False).astype(bool)
        & cell.get("ess_goal_reliable", pd.Series(False, index=cell.index))
        .fillna(False)
        .astype(bool)
        if {"censored", "unreliable"} <= set(cell)
        else pd.Series(False, index=cell.index)
    )
    if short.any():
        # A reliable ESS goal that ran out of budget: the flags are why it stopped, and its
        # ESS (from chains too short to trust) overstates what it reached.
        k = int(short.sum())
        parts.append(
            f"{k} of {n} of {name}'s runs did not reach a trustworthy ESS within the sampling"
            f" budget{why}, so its figure is a lower bound"
        )
        censored -= k
        unreliable -= k
    if censored:
        parts.append(
            f"{censored} of {n} of {name}'s runs stopped short of the ESS goal, so its figure"
            " is a lower bound"
        )
    if unreliable:
        verdict = "so its figure is not trustworthy" if 2 * unreliable > n else "read it with care"
        parts.append(f"{unreliable} of {n} of {name}'s runs have an unreliable ESS{why}, {verdict}")
    if biased:
        parts.append(f"{biased} of {n} of {name}'s runs are biased against the truth")
    return "; ".join(parts)


def _all(cell: pd.DataFrame, column: str) -> bool:
    return column in cell and bool(cell[column].fillna(False).astype(bool).all())


def sentences(runs: pd.DataFrame, baseline: str) -> list[str]:
    """One sentence per (target, dim, sampler other than the baseline) with enough runs."""
    runs = contenders(runs)
    ok = runs[(runs["status"] == "ok") & np.isfinite(runs[METRIC]) & (runs[METRIC] > 0)]
    out = []
    for (target, dim), cell in ok.groupby(["target", "dim"], sort=True):
        base = cell[cell["sampler"] == baseline]
        if len(base) < MIN_REPLICATES:
            continue
        for sampler in sorted(set(cell["sampler"]) - {baseline}, key=_order):
            mine = cell[cell["sampler"] == sampler]
            if len(mine) < MIN_REPLICATES:
                continue
            ratio, lo, hi = ratio_interval(mine[METRIC], base[METRIC])
            n = min(len(mine), len(base))
            # Every run of one side censored (its cost a lower bound) bounds the ratio.
            bound = {(True, False): "at least ", (False, True): "at most "}.get(
                (_all(mine, "censored"), _all(base, "censored")), ""
            )
            text = (
                f"On `{target}` at d = {dim}, `{sampler}` costs {bound}{ratio:.3g}× [{lo:.3g},"
                f" {hi:.3g}] what `{baseline}` costs per effective sample (bootstrap over"
                f" {n} replicates)"
            )
            caveats = [c for c in (_caveat(sampler, mine), _caveat(baseline, base)) if c]
            out.append(text + ("; " + "; ".join(caveats) if caveats else "") + ".")
    return out
