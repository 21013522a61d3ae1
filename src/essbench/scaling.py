"""Scaling laws: cost per effective sample ∝ d^α, fitted per (sampler, target).

Ordinary least squares of log cost on log d over every reliable run (replicates are repeats),
with a bootstrap interval for α that resamples runs within each dimension. Runs that failed,
were flagged unreliable, or were censored are excluded (and counted in the table).
Textbook slopes, per effective sample and counting the O(d) cost of one log-density
evaluation: HMC/NUTS d^1.25, random-walk Metropolis d^2.
"""

import numpy as np
import pandas as pd

METRIC = "cost_per_ess_mean"
# A slope says something about d-scaling only over enough dimensions, spread widely enough,
# reaching far enough: below d ~ 64 the per-step overhead of a sampler (a Python or
# PyTensor call, tens of microseconds) outweighs the O(d) work of these targets' log
# densities, so the cost barely moves with d (the default study once fitted alpha = -0.31
# for NUTS at d <= 32 beside the textbook 1.25). Where a pair falls short, alpha is not
# fitted and ``note`` says why.
MIN_SCALING_DIMS = 3
MIN_SCALING_SPAN = 8.0
MIN_SCALING_DIM = 64


def not_fittable(dims) -> str:
    """Why cost-vs-d over ``dims`` cannot give a scaling exponent ("" when it can)."""
    dims = sorted({int(d) for d in dims})
    if len(dims) < MIN_SCALING_DIMS:
        n = len(dims)
        return f"{n} dimension{'s' if n != 1 else ''}: a slope needs at least {MIN_SCALING_DIMS}"
    if dims[-1] / dims[0] < MIN_SCALING_SPAN:
        return f"d spans only x{dims[-1] / dims[0]:g}: a slope needs x{MIN_SCALING_SPAN:g}"
    if dims[-1] < MIN_SCALING_DIM:
        return (
            f"d <= {dims[-1]}: per-step overhead dominates below d = {MIN_SCALING_DIM},"
            " so the slope is not the d-scaling"
        )
    return ""


def textbook_alpha(sampler: str) -> float:
    """The exponent the sampler's module declares (``TEXTBOOK_ALPHA``), nan if none."""
    from essbench import registry

    plugin = registry.find_sampler(sampler)
    alpha = None if plugin is None else plugin.TEXTBOOK_ALPHA
    return np.nan if alpha is None else float(alpha)


def _usable(runs: pd.DataFrame) -> pd.Series:
    ok = runs["status"] == "ok"
    for flag in ("unreliable", "censored"):
        if flag in runs:
            ok &= ~runs[flag].fillna(False).astype(bool)
    return ok & np.isfinite(runs[METRIC]) & (runs[METRIC] > 0)


def _slope(logd: np.ndarray, logc: np.ndarray) -> tuple[float, float]:
    slope, intercept = np.polyfit(logd, logc, 1)
    return float(slope), float(intercept)


def fit(runs: pd.DataFrame, n_boot: int = 1000, seed: int = 0, level: float = 0.95):
    """One row per (sampler, target): alpha, its interval, prefactor, counts."""
    from essbench.aggregate import contenders

    runs = contenders(runs)
    rng = np.random.default_rng(seed)
    usable = _usable(runs)
    rows = []
    for (sampler, target), group in runs.groupby(["sampler", "target"], sort=True):
        good = group[usable.loc[group.index]]
        row = {
            "sampler": sampler,
            "target": target,
            "n_runs": len(good),
            "n_excluded": len(group) - len(good),
            "n_dims": good["dim"].nunique(),
            "alpha": np.nan,
            "alpha_lo": np.nan,
            "alpha_hi": np.nan,
            "prefactor_s": np.nan,
            "textbook_alpha": textbook_alpha(sampler),
            "note": not_fittable(good["dim"]),
        }
        if not row["note"]:
            logd = np.log(good["dim"].to_numpy(float))
            logc = np.log(good[METRIC].to_numpy(float))
            alpha, intercept = _slope(logd, logc)
            by_dim = [np.flatnonzero(logd == v) for v in np.unique(logd)]
            boots = []
            for _ in range(n_boot):
                idx = np.concatenate([rng.choice(ix, size=ix.size) for ix in by_dim])
                boots.append(_slope(logd[idx], logc[idx])[0])
            lo, hi = np.quantile(boots, [(1 - level) / 2, (1 + level) / 2])
            row.update(
                alpha=alpha,
                alpha_lo=float(lo),
                alpha_hi=float(hi),
                prefactor_s=float(np.exp(intercept)),
            )
        rows.append(row)
    return pd.DataFrame(rows)
