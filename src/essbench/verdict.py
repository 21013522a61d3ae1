"""The answer in words: per target and dimension, each sampler's cost per effective sample as
a multiple of the study's baseline sampler's, with a bootstrap interval over replicates.

The ratio is that of geometric means of the replicates' costs (``cost_per_ess_mean``:
sampling seconds ÷ mean bulk ESS): costs are positive and skewed, and a ratio of geometric
means is the exponential of a difference of means of logs, which a bootstrap handles well.
The interval resamples each sampler's replicates with replacement, independently (its
coverage on synthetic runs with a known ratio is tested in tests/test_calibration.py). A
sentence says when a cell's runs are flagged or censored, because then its number is not
what it seems.

Each sampler's cost is on its cell's basis (``aggregate.cost_bases``, the same as the
headline table's): where the estimator's ESS disagrees with the empirical ESS beyond its
interval, the cost is mean sampling seconds ÷ the empirical ESS (1 / mean over replicates
of ``sq_error_mean``), recomputed for every bootstrap resample, and the sentence says so.
"""

import numpy as np
import pandas as pd

from essbench.aggregate import EMPIRICAL_BASIS_REASON, contenders, cost_bases
from essbench.plots import _order

METRIC = "cost_per_ess_mean"
MIN_REPLICATES = 2


def _geometric_mean(costs):
    """The statistic of the estimator basis: the geometric mean of replicates' costs, as a
    function of bootstrap indices (rows of replicate positions)."""
    logs = np.log(np.asarray(costs, float))
    return logs.size, lambda idx: np.exp(logs[idx].mean(axis=-1))


def _empirical_cost(seconds, sq_errors):
    """The statistic of the empirical basis: mean seconds ÷ the empirical ESS, i.e. mean
    seconds × mean ``sq_error_mean``, as a function of bootstrap indices."""
    s, u = np.asarray(seconds, float), np.asarray(sq_errors, float)
    return s.size, lambda idx: s[idx].mean(axis=-1) * u[idx].mean(axis=-1)


def _bootstrap(mine, base, n_boot: int, level: float, seed):
    """(ratio, lo, hi) of two cells' cost statistics, percentile bootstrap resampling each
    cell's replicates with replacement, independently."""
    (n_a, stat_a), (n_b, stat_b) = mine, base
    ratio = float(stat_a(np.arange(n_a)) / stat_b(np.arange(n_b)))
    rng = np.random.default_rng(seed)
    boot_a = stat_a(rng.integers(0, n_a, size=(n_boot, n_a)))
    boot_b = stat_b(rng.integers(0, n_b, size=(n_boot, n_b)))
    lo, hi = np.quantile(boot_a / boot_b, [(1 - level) / 2, (1 + level) / 2])
    return ratio, float(lo), float(hi)


def ratio_interval(costs, baseline_costs, n_boot: int = 2000, level: float = 0.95, seed=0):
    """(ratio, lo, hi) of geometric-mean costs, percentile bootstrap over replicates."""
    return _bootstrap(_geometric_mean(costs), _geometric_mean(baseline_costs), n_boot, level, seed)


def _statistic(cell: pd.DataFrame, basis: str):
    """The bootstrap statistic of one sampler's runs in one cell on its cost basis."""
    if basis == "empirical":
        return _empirical_cost(cell["sampling_seconds"], cell["sq_error_mean"])
    return _geometric_mean(cell[METRIC])


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


def _basis_note(names: list[str]) -> str:
    """The clause that says which samplers' costs are divided by the empirical ESS."""
    if not names:
        return ""
    who = " and ".join(f"`{n}`'s" for n in names)
    return f"; {who} cost divided by the empirical ESS: {EMPIRICAL_BASIS_REASON}"


def sentences(
    runs: pd.DataFrame, baseline: str, calibration: pd.DataFrame | None = None
) -> list[str]:
    """One sentence per (target, dim, sampler other than the baseline) with enough runs;
    each cost on its cell's basis from the ``calibration`` table (none: the estimator's)."""
    bases = cost_bases(calibration)
    runs = contenders(runs)
    ok = runs[(runs["status"] == "ok") & np.isfinite(runs[METRIC]) & (runs[METRIC] > 0)]
    out = []
    for (target, dim), cell in ok.groupby(["target", "dim"], sort=True):
        base = cell[cell["sampler"] == baseline]
        if len(base) < MIN_REPLICATES:
            continue
        base_basis = bases.get((baseline, target, int(dim)), "estimator")
        for sampler in sorted(set(cell["sampler"]) - {baseline}, key=_order):
            mine = cell[cell["sampler"] == sampler]
            if len(mine) < MIN_REPLICATES:
                continue
            basis = bases.get((sampler, target, int(dim)), "estimator")
            ratio, lo, hi = _bootstrap(
                _statistic(mine, basis), _statistic(base, base_basis), 2000, 0.95, 0
            )
            n = min(len(mine), len(base))
            # Every run of one side censored (its cost a lower bound) bounds the ratio.
            bound = {(True, False): "at least ", (False, True): "at most "}.get(
                (_all(mine, "censored"), _all(base, "censored")), ""
            )
            empirical = [
                s for s, b in ((sampler, basis), (baseline, base_basis)) if b != "estimator"
            ]
            text = (
                f"On `{target}` at d = {dim}, `{sampler}` costs {bound}{ratio:.3g}× [{lo:.3g},"
                f" {hi:.3g}] what `{baseline}` costs per effective sample (bootstrap over"
                f" {n} replicates{_basis_note(empirical)})"
            )
            caveats = [c for c in (_caveat(sampler, mine), _caveat(baseline, base)) if c]
            out.append(text + ("; " + "; ".join(caveats) if caveats else "") + ".")
    return out
