"""Diagnostics of one run, computed on a (chains, draws, params) array.

ESS, R-hat and MCSE are ArviZ's (``arviz_stats``, rank-normalized, Vehtari et al. 2021) and
tau is emcee's: we do not define our own. What we do differently is *how* they are called:
one parameter at a time on a contiguous (chains, draws) block, sharing the chain split and
the sort between ESS and R-hat, with normal scores looked up in a table instead of one
``norm.ppf`` per draw, spread over threads. ``tests/test_metrics.py`` checks every number
against the plain ArviZ and emcee calls. (A naive ``az.summary`` of the seed's emcee run
costs about twice its sampling time; see ``benchmarks/diagnostics``.)
"""

import math
from concurrent.futures import ThreadPoolExecutor
from functools import lru_cache

import numpy as np

# Largest |z| over k parameters: flagged when its two-sided p-value, Bonferroni-corrected
# over the k parameters, is below this (so a correct sampler is flagged about 0.1% of runs).
BIAS_FAMILY_ALPHA = 1e-3
# emcee's documentation: trust tau (and so the ESS) only for chains longer than 50 tau.
MIN_CHAIN_OVER_TAU = 50.0
# Vehtari et al. (2021): use the draws only when rank R-hat < 1.01.
MAX_RHAT = 1.01
TAIL_PROB = (0.05, 0.95)
_KW = {"chain_axis": 0, "draw_axis": 1}


def _array_stats():
    from arviz_stats.base import array_stats

    return array_stats


def _split_chains(x: np.ndarray) -> np.ndarray:
    """ArviZ's chain split of a (chains, draws) block: halves as chains, odd middle dropped."""
    half = x.shape[1] // 2
    return np.concatenate([x[:, :half], x[:, x.shape[1] - half :]], axis=0)


def _average_ranks(row: np.ndarray) -> np.ndarray:
    """2 * (average rank) - 2, an integer, for each value of a 1-d array.

    Equal values share the mean of their ranks, as ``scipy.stats.rankdata(method="average")``
    (emcee's rejected moves repeat values); doubling keeps ranks integral to index a table.
    """
    n = row.size
    order = np.argsort(row)
    ordered = row[order]
    idx = np.arange(n)
    new = np.empty(n, bool)
    new[0] = True
    np.not_equal(ordered[1:], ordered[:-1], out=new[1:])
    if new.all():
        twice = 2 * idx
    else:
        start = np.maximum.accumulate(np.where(new, idx, 0))
        last = np.empty(n, bool)
        last[-1] = True
        last[:-1] = new[1:]
        end = np.minimum.accumulate(np.where(last, idx, n - 1)[::-1])[::-1]
        twice = start + end
    out = np.empty(n, dtype=np.int64)
    out[order] = twice
    return out


@lru_cache(maxsize=8)
def _z_table(n: int) -> np.ndarray:
    """Normal scores of every possible average rank r = 1, 1.5, ..., n (Blom, c = 3/8)."""
    from scipy.special import ndtri

    c = 3.0 / 8.0
    ranks = 1.0 + 0.5 * np.arange(2 * n - 1)
    return ndtri((ranks - c) / (n - 2 * c + 1))


def _z_scale(x: np.ndarray) -> np.ndarray:
    """ArviZ's ``_z_scale``: average ranks over the whole block, then normal scores."""
    return _z_table(x.size)[_average_ranks(x.ravel())].reshape(x.shape)


def _param_diagnostics(x: np.ndarray, tail_prob=TAIL_PROB) -> dict[str, float]:
    """Bulk ESS, tail ESS, rank R-hat and MCSEs of one parameter's (chains, draws) block.

    ArviZ's bulk ESS is ``ess(method="identity")`` of the rank-normalized split chains; its
    rank R-hat the larger ``rhat(method="identity")`` of those and of the rank-normalized
    folded split chains; its tail ESS the smaller identity ESS of the split indicator chains
    ``x <= quantile(prob)``; its MCSE of the mean ``mcse(method="mean")``.
    """
    stats = _array_stats()
    split = _split_chains(x)
    z = _z_scale(split)
    folded = np.abs(split - np.median(split))
    z_fold = _z_scale(folded)
    tails = []
    for prob in tail_prob:
        indicator = _split_chains((x <= np.quantile(x, prob)).astype(float))
        tails.append(float(stats.ess(indicator, method="identity", **_KW)))
    sq = (x - x.mean()) ** 2
    return {
        "ess_bulk": float(stats.ess(z, method="identity", **_KW)),
        "ess_tail": min(tails),
        "rhat": max(
            float(stats.rhat(z, method="identity", **_KW)),
            float(stats.rhat(z_fold, method="identity", **_KW)),
        ),
        "mcse_mean": float(stats.mcse(x, method="mean", **_KW)),
        "mcse_var": float(stats.mcse(sq, method="mean", **_KW)),
    }


def _map_params(fn, draws: np.ndarray, threads: int) -> dict[str, np.ndarray]:
    blocks = (np.ascontiguousarray(draws[:, :, p]) for p in range(draws.shape[2]))
    if threads > 1 and draws.shape[2] > 1:
        with ThreadPoolExecutor(threads) as pool:
            rows = list(pool.map(fn, blocks))
    else:
        rows = [fn(b) for b in blocks]
    return {k: np.array([r[k] for r in rows]) for k in rows[0]}


def per_parameter(draws: np.ndarray, threads: int = 1) -> dict[str, np.ndarray]:
    """Per-parameter ``ess_bulk``, ``ess_tail``, ``rhat``, ``mcse_mean``, ``mcse_var``."""
    return _map_params(_param_diagnostics, draws, threads)


def ess_rhat(draws: np.ndarray, threads: int = 1) -> dict[str, np.ndarray]:
    """Per-parameter bulk ESS, tail ESS (5% and 95%) and rank R-hat, equal to ArviZ's."""
    out = per_parameter(draws, threads)
    return {k: out[k] for k in ("ess_bulk", "ess_tail", "rhat")}


def summarize_ess_rhat(per_param: dict[str, np.ndarray]) -> dict[str, float]:
    """The table's columns: bulk ESS mean and min, tail ESS min, R-hat max."""
    return {
        "ess_bulk_mean": float(np.mean(per_param["ess_bulk"])),
        "ess_bulk_min": float(np.min(per_param["ess_bulk"])),
        "ess_tail_min": float(np.min(per_param["ess_tail"])),
        "rhat_max": float(np.max(per_param["rhat"])),
    }


def cost_per_ess(seconds: float, ess: float) -> float:
    """Seconds per effective sample; ``nan`` when the ESS is not positive and finite."""
    if not (math.isfinite(ess) and ess > 0):
        return math.nan
    return seconds / ess


def bias_z(
    draws: np.ndarray,
    true_mean,
    true_var,
    per_param: dict | None = None,
    truth_mcse=(0.0, 0.0),
) -> dict[str, float]:
    """z-scores of the mean and variance estimates against the known truth.

    z_mean = (mean estimate - true mean) / MCSE(mean); z_var likewise for the variance
    estimate mean((x - mean estimate)^2), with the MCSE of that mean. A reference truth's
    own MCSE (``truth_mcse``: of the mean, of the variance) is added in quadrature. Returns
    the largest |z| of each over parameters.
    """
    per_param = per_param or per_parameter(draws)
    mean = draws.mean(axis=(0, 1))
    var = ((draws - mean) ** 2).mean(axis=(0, 1))
    se_mean = np.hypot(per_param["mcse_mean"], truth_mcse[0])
    se_var = np.hypot(per_param["mcse_var"], truth_mcse[1])
    z_mean = (mean - np.asarray(true_mean)) / se_mean
    z_var = (var - np.asarray(true_var)) / se_var
    return {
        "z_mean_max": float(np.max(np.abs(z_mean))),
        "z_var_max": float(np.max(np.abs(z_var))),
    }


def bias_threshold(n_params: int, alpha: float = BIAS_FAMILY_ALPHA) -> float:
    """|z| above which the largest of ``n_params`` z-scores is implausible (Bonferroni)."""
    from scipy.stats import norm

    return float(norm.isf(alpha / (2 * n_params)))


def _integrated_time_1param(x: np.ndarray, c: float = 5.0) -> float:
    """emcee's ``integrated_time`` for one parameter of a (walkers, steps) block.

    The same estimator as ``emcee.autocorr.integrated_time`` (mean over walkers of each
    walker's normalized autocorrelation function, then ``auto_window`` with c = 5), with the
    FFTs of all walkers done in one (real) FFT call instead of a Python loop over walkers.
    """
    from emcee.autocorr import auto_window, next_pow_two

    n = next_pow_two(x.shape[1])
    centred = x - x.mean(axis=1, keepdims=True)
    f = np.fft.rfft(centred, n=2 * n, axis=1)
    acf = np.fft.irfft(f * np.conjugate(f), n=2 * n, axis=1)[:, : x.shape[1]]
    acf /= acf[:, :1]
    taus = 2.0 * np.cumsum(acf.mean(axis=0)) - 1.0
    return float(taus[auto_window(taus, c)])


def autocorr(draws: np.ndarray, threads: int = 1) -> dict[str, float]:
    """emcee's integrated autocorrelation time over the ensemble (walkers = chains).

    ``ess_autocorr`` = steps * walkers / tau (mean over parameters, as ``ess_bulk_mean``) and
    ``chain_over_tau`` = steps / max tau; emcee trusts tau only when that exceeds 50.
    """
    walkers, steps, _ = draws.shape
    tau = _map_params(lambda b: {"tau": _integrated_time_1param(b)}, draws, threads)["tau"]
    ess = steps * walkers / tau
    return {
        "tau_max": float(np.max(tau)),
        "ess_autocorr": float(np.mean(ess)),
        "ess_autocorr_min": float(np.min(ess)),
        "chain_over_tau": float(steps / np.max(tau)),
    }
