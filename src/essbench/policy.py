"""What makes a run unreliable, biased or a reference unusable: every threshold, and every
message about it, in one place (messages are built from the constants below).

Issue 15 calibrates these flags on exact draws; until then their nominal rates are the ones
stated here.
"""

import math

# emcee's documentation: trust tau (and so the ESS) only for chains longer than 50 tau.
MIN_CHAIN_OVER_TAU = 50.0
# Vehtari et al. (2021): use the draws only when rank R-hat < 1.01.
MAX_RHAT = 1.01
# Largest |z| over k parameters: flagged when its two-sided p-value, Bonferroni-corrected
# over the k parameters, is below this (so a correct sampler is flagged about 0.1% of runs).
BIAS_FAMILY_ALPHA = 1e-3
# The reference rule's gates (targets without closed-form moments).
REFERENCE_MAX_RHAT = 1.01
REFERENCE_MAX_DIVERGENCES = 0
REFERENCE_MIN_ESS_BULK = 10_000

UNRELIABLE_MEANING = (
    f"ensemble chains shorter than {MIN_CHAIN_OVER_TAU:g} autocorrelation times (emcee's"
    f" rule), R-hat above {MAX_RHAT:g}, or divergent transitions: their ESS, and so their"
    " cost, is not trustworthy"
)
BIASED_MEANING = (
    "a mean or variance estimate is further from the known truth than its Monte Carlo error"
    f" allows (Bonferroni over parameters, family α = {BIAS_FAMILY_ALPHA:g})"
)
CENSORED_MEANING = (
    "the run stopped at its sampling budget or length cap before its worst parameter reached"
    " the ESS goal: its time to the goal is a lower bound"
)


def bias_threshold(n_params: int, alpha: float = BIAS_FAMILY_ALPHA) -> float:
    """|z| above which the largest of ``n_params`` z-scores is implausible (Bonferroni).

    The normal's inverse survival function, as ``scipy.stats.norm.isf`` computes it
    (importing ``scipy.stats`` costs ~1 s, which a batch's diagnostics would count).
    """
    from scipy.special import ndtri

    return float(-ndtri(alpha / (2 * n_params)))


def unreliable_reasons(record: dict) -> list[str]:
    """Why a diagnosed run's ESS cannot be trusted (empty: it can)."""
    reasons = []
    chain_over_tau = record.get("chain_over_tau")
    if chain_over_tau is not None and chain_over_tau < MIN_CHAIN_OVER_TAU:
        reasons.append(f"chain/tau={chain_over_tau:.1f}<{MIN_CHAIN_OVER_TAU:g}")
    if record["rhat_max"] > MAX_RHAT:
        reasons.append(f"rhat={record['rhat_max']:.3f}>{MAX_RHAT:g}")
    divergences = record.get("stat_divergences")
    if divergences:
        reasons.append(f"{divergences} divergences")
    return reasons


def is_biased(z_mean_max: float, z_var_max: float, n_params: int) -> bool:
    return bool(max(z_mean_max, z_var_max) > bias_threshold(n_params))


def reference_failures(summary: dict, divergences: int) -> list[str]:
    """Why a reference run's moments cannot serve as truth (empty: they can)."""
    failed = []
    if not summary["rhat_max"] < REFERENCE_MAX_RHAT:
        failed.append(f"R-hat {summary['rhat_max']:.4f} is not < {REFERENCE_MAX_RHAT:g}")
    if divergences > REFERENCE_MAX_DIVERGENCES:
        failed.append(f"{divergences} divergences (at most {REFERENCE_MAX_DIVERGENCES})")
    ess = summary["ess_bulk_min"]
    if not (math.isfinite(ess) and ess > REFERENCE_MIN_ESS_BULK):
        failed.append(f"bulk ESS {ess:.0f} is not > {REFERENCE_MIN_ESS_BULK}")
    return failed


REFERENCE_GATES_TEXT = (
    f"R-hat < {REFERENCE_MAX_RHAT:g}, at most {REFERENCE_MAX_DIVERGENCES} divergences, bulk ESS"
    f" > {REFERENCE_MIN_ESS_BULK:,} for every parameter"
)
