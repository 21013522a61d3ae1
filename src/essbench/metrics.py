"""Diagnostics of one run, computed on a (chains, draws, params) array.

ESS and R-hat come from ArviZ (``arviz_stats``, rank-normalized, Vehtari et al. 2021): we do
not implement our own. Everything here is vectorized over parameters and computes only what
the tables use (a full ``az.summary`` costs more than some runs' sampling).
"""

import math

import numpy as np

# Largest |z| over k parameters: flagged when its two-sided p-value, Bonferroni-corrected
# over the k parameters, is below this (so a correct sampler is flagged about 0.1% of runs).
BIAS_FAMILY_ALPHA = 1e-3
# emcee's documentation: trust tau (and so the ESS) only for chains longer than 50 tau.
MIN_CHAIN_OVER_TAU = 50.0


def _array_stats():
    from arviz_stats.base import array_stats

    return array_stats


def ess_rhat(draws: np.ndarray) -> dict[str, float]:
    """Bulk ESS (mean and min over parameters), tail ESS (min) and rank R-hat (max)."""
    stats = _array_stats()
    kw = dict(chain_axis=0, draw_axis=1)
    bulk = np.asarray(stats.ess(draws, method="bulk", **kw))
    tail = np.asarray(stats.ess(draws, method="tail", prob=(0.05, 0.95), **kw))
    rhat = np.asarray(stats.rhat(draws, method="rank", **kw))
    return {
        "ess_bulk_mean": float(np.mean(bulk)),
        "ess_bulk_min": float(np.min(bulk)),
        "ess_tail_min": float(np.min(tail)),
        "rhat_max": float(np.max(rhat)),
    }


def cost_per_ess(seconds: float, ess: float) -> float:
    """Seconds per effective sample; ``nan`` when the ESS is not positive and finite."""
    if not (math.isfinite(ess) and ess > 0):
        return math.nan
    return seconds / ess


def bias_z(draws: np.ndarray, true_mean: np.ndarray, true_var: np.ndarray) -> dict[str, float]:
    """z-scores of the mean and variance estimates against the known truth.

    z_mean = (mean estimate - true mean) / MCSE(mean); z_var likewise for the variance,
    with the MCSE of the mean of (x - mean estimate)^2. Returns the largest |z| of each.
    """
    stats = _array_stats()
    kw = dict(chain_axis=0, draw_axis=1)
    flat = draws.reshape(-1, draws.shape[-1])
    mean = flat.mean(axis=0)
    mcse_mean = np.asarray(stats.mcse(draws, method="mean", **kw))
    sq = (draws - mean) ** 2
    var = sq.reshape(-1, draws.shape[-1]).mean(axis=0)
    mcse_var = np.asarray(stats.mcse(sq, method="mean", **kw))
    z_mean = (mean - true_mean) / mcse_mean
    z_var = (var - true_var) / mcse_var
    return {
        "z_mean_max": float(np.max(np.abs(z_mean))),
        "z_var_max": float(np.max(np.abs(z_var))),
    }


def bias_threshold(n_params: int, alpha: float = BIAS_FAMILY_ALPHA) -> float:
    """|z| above which the largest of ``n_params`` z-scores is implausible (Bonferroni)."""
    from scipy.stats import norm

    return float(norm.isf(alpha / (2 * n_params)))


def autocorr(draws: np.ndarray) -> dict[str, float]:
    """emcee's integrated autocorrelation time over the ensemble (walkers = chains).

    ``ess_autocorr`` = steps * walkers / tau (mean over parameters, as ``ess_bulk_mean``) and
    ``chain_over_tau`` = steps / max tau; emcee trusts tau only when that exceeds 50.
    """
    import emcee

    walkers, steps, _ = draws.shape
    tau = emcee.autocorr.integrated_time(np.swapaxes(draws, 0, 1), quiet=True)
    ess = steps * walkers / tau
    return {
        "tau_max": float(np.max(tau)),
        "ess_autocorr": float(np.mean(ess)),
        "ess_autocorr_min": float(np.min(ess)),
        "chain_over_tau": float(steps / np.max(tau)),
    }
