"""What makes a run unreliable, biased or a reference unusable: every threshold, and every
message about it, in one place (messages are built from the constants below).

Issue 15 calibrates these flags on exact draws; until then their nominal rates are the ones
stated here.
"""

import math

# emcee's documentation: trust tau (and so the ESS) only for chains longer than 50 tau.
MIN_CHAIN_OVER_TAU = 50.0
# Vehtari et al. (2021): use the draws only when rank R-hat < 1.01. With short chains and
# many parameters, the largest R-hat of exact independent draws exceeds 1.01 by chance (on
# 2 chains x 500 draws at d = 64, in 4.9% of runs: benchmarks/flag_calibration.py), so the
# threshold is raised there to the R-hat that independent draws exceed with probability
# RHAT_FAMILY_ALPHA over all parameters (see rhat_threshold); 1.01 stays the floor.
MAX_RHAT = 1.01
RHAT_FAMILY_ALPHA = 0.005
# Every flag's documented false-positive rate per run: how often it may fire on a correct
# sampler (benchmarks/flag_calibration.py measures it on exact draws; the report shows the
# study's own oracle runs).
NOMINAL_RATE = 0.01
# The bias test: the largest |z| over its tests (Bonferroni-corrected, two-sided) is flagged
# when its p-value is below this family rate (so a correct sampler is flagged in at most
# 0.1% of runs, under NOMINAL_RATE).
BIAS_FAMILY_ALPHA = 1e-3
# Where the truth has exact draws, the bias test compares the fraction of draws below each
# parameter's true 10%, 50% and 90% quantiles with 0.1, 0.5 and 0.9 (and the mean with the
# true mean): bounded statistics, whose error is near normal whatever the tails. A variance
# z-test fired on 54-94% of runs of exact draws of Neal's funnel (its variance estimate's
# MCSE is unreliable under heavy tails), so it is used only for reference truths.
BIAS_QUANTILE_LEVELS = (0.1, 0.5, 0.9)
# Where the truth has quantiles, the mean of a parameter whose true kurtosis exceeds this is
# judged by its quantiles alone (and the one-posterior-SD rule): its error is far from
# normal at the ESS a run reaches (the normal's tail at |z| ~ 4.6 needs kurtosis << ESS), so
# its z-test fired on exact draws of Neal's funnel (d = 64, 2 x 2000: 2 of 100 runs, |z| 7.5
# and 5.5 against 4.62; the funnel's x have kurtosis 431-4,253 in 200,000 exact draws at
# d = 8 and 64). Its false-positive rate after the rule: benchmarks/measured/README.md.
# The banana's curved coordinate (13) and every Gaussian (3) keep their mean test.
MEAN_TEST_MAX_KURTOSIS = 100.0
# The z-scores' scale is the truth's spread over the run's ESS of each estimate (never the
# run's own spread, which a stuck or over-dispersed run inflates: the worse the run, the
# weaker a test scaled by it). Whatever the ESS claims, a run whose mean of any parameter
# is more than this many true posterior SDs from the truth's did not recover the truth: it
# is biased. Exact draws of >= 500 never come near it (a mean's error is ~ 1 / sqrt(n) SD).
MAX_ERROR_SD = 1.0
# The reference rule's gates (targets without closed-form moments).
REFERENCE_MAX_RHAT = 1.01
REFERENCE_MAX_DIVERGENCES = 0
REFERENCE_MIN_ESS_BULK = 10_000

UNRELIABLE_MEANING = (
    f"ensemble chains shorter than {MIN_CHAIN_OVER_TAU:g} autocorrelation times (emcee's"
    f" rule), R-hat above {MAX_RHAT:g} (or above the R-hat independent draws of the run's"
    " shape would reach, for short chains and many parameters), divergent transitions, or"
    " (nested samplers) a run stopped by its likelihood-call cap before its own stopping"
    " rule: their ESS, and so their cost, is not trustworthy"
)
BIASED_MEANING = (
    "a mean, or the fraction of draws below a true"
    f" {'/'.join(f'{100 * p:g}' for p in BIAS_QUANTILE_LEVELS)}% quantile (the variance for a"
    " reference truth), is further from the truth than the truth's spread and the run's ESS"
    f" allow (Bonferroni over parameters and statistics, family α = {BIAS_FAMILY_ALPHA:g}),"
    f" or a mean is more than {MAX_ERROR_SD:g} posterior SD from the truth's, whatever the"
    " run's ESS"
)
# A named quantity (essbench.quantities) is judged alone, always on its mean and quantiles
# (its truth comes from draws of the posterior, which have quantiles).
QUANTITY_BIASED_MEANING = (
    "its mean, or the fraction of its draws below the truth's"
    f" {'/'.join(f'{100 * p:g}' for p in BIAS_QUANTILE_LEVELS)}% quantiles, is further from"
    " the truth than the truth's spread and the run's ESS of the quantity allow (Bonferroni"
    f" over those {1 + len(BIAS_QUANTILE_LEVELS)} tests, family α = {BIAS_FAMILY_ALPHA:g}), or"
    f" its mean is more than {MAX_ERROR_SD:g} posterior SD from the truth's, whatever the ESS"
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


# Each way a run is flagged: its record column, and what it means.
FLAGS = {
    "flag_rhat": "rank R-hat above its threshold",
    "flag_chain_tau": f"ensemble chains shorter than {MIN_CHAIN_OVER_TAU:g} τ",
    "flag_divergences": "divergent transitions",
    "flag_call_cap": "stopped by its cap (likelihood calls, or a timeout) before its own"
    " stopping rule",
    "biased": "biased (the bias test)",
}
# Importance-weighted runs (nested sampling) are one weighted sample, not chains: the chain
# flags cannot be computed for them. They are recorded as None (not assessable, never
# counted as passed), and the record's ``flags_not_assessable`` says why.
WEIGHTED_NOT_ASSESSABLE = (
    "flag_rhat, flag_chain_tau: importance-weighted draws have no chains (ESS: Kish's)"
)


def rhat_threshold(chains: int, draws: int, n_params: int, alpha: float = RHAT_FAMILY_ALPHA):
    """The R-hat above which a run of ``chains`` x ``draws`` is flagged: 1.01, or more where
    independent draws would pass 1.01 too often.

    For independent draws, split R-hat² ≈ 1 + (F − 1) / n with n the split chains' length and
    F = B / W ~ F(m − 1, m (n − 1)) over the m = 2 x chains split chains. The bound is F's
    upper α / (2 k) quantile (k parameters, each with a bulk and a folded R-hat).
    """
    m, n = 2 * int(chains), int(draws) // 2
    if m < 2 or n < 2 or n_params < 1:
        return MAX_RHAT
    q = f_isf(alpha / (2 * n_params), m - 1, m * (n - 1))
    return max(MAX_RHAT, (1.0 + (q - 1.0) / n) ** 0.5)


def f_isf(p: float, dfn: float, dfd: float) -> float:
    """The F(dfn, dfd) distribution's inverse survival function, as ``scipy.stats.f.isf``
    computes it (to 1e-10), from the incomplete beta function's inverse: X ~ F has
    dfd / (dfd + dfn X) ~ Beta(dfd / 2, dfn / 2), whose lower tail is X's upper tail.
    ``scipy.stats`` costs ~0.9 s to import, which every batch's first diagnostics paid."""
    from scipy.special import betaincinv

    z = float(betaincinv(dfd / 2.0, dfn / 2.0, p))
    return dfd * (1.0 - z) / (dfn * z)


def unreliable_flags(record: dict) -> dict:
    """Each reason a diagnosed run's ESS may not be trusted, as True/False, or None where
    it cannot be assessed (chain/τ for non-ensembles, divergences for samplers without)."""
    chain_over_tau = record.get("chain_over_tau")
    divergences = record.get("stat_divergences")
    converged = record.get("stat_converged")
    weighted = record.get("ess_basis") == "kish"
    return {
        "flag_rhat": None
        if weighted
        else bool(record["rhat_max"] > record.get("rhat_threshold", MAX_RHAT)),
        "flag_chain_tau": None
        if chain_over_tau is None
        else bool(chain_over_tau < MIN_CHAIN_OVER_TAU),
        "flag_divergences": None if divergences is None else bool(divergences),
        "flag_call_cap": None if converged is None else not converged,
    }


def unreliable_reasons(record: dict) -> list[str]:
    """Why a diagnosed run's ESS cannot be trusted (empty: it can)."""
    reasons = []
    flags = unreliable_flags(record)
    if flags["flag_chain_tau"]:
        reasons.append(f"chain/tau={record['chain_over_tau']:.1f}<{MIN_CHAIN_OVER_TAU:g}")
    if flags["flag_rhat"]:
        threshold = record.get("rhat_threshold", MAX_RHAT)
        reasons.append(f"rhat={record['rhat_max']:.3f}>{threshold:.3g}")
    if flags["flag_divergences"]:
        reasons.append(f"{record['stat_divergences']} divergences")
    if flags["flag_call_cap"]:
        if record.get("stat_stopped_by") == "timeout":
            timeout = record.get("option_timeout_seconds")
            reasons.append(f"stopped at its timeout of {timeout:g} s")
        else:
            reasons.append(f"stopped at its cap of {record['logp_evals']} likelihood calls")
    return reasons


def bias_verdict(record: dict, n_params: int) -> dict:
    """The bias flag from a record's z-scores and errors: the mean and the quantile tests
    where the truth has quantiles (``z_quantile_max``), else the mean and the variance
    tests; and, whatever the z-scores say, the one-posterior-SD rule (``error_sd_max`` above
    :data:`MAX_ERROR_SD`: a wrong answer, whatever the run's ESS claims).

    ``bias_reason`` says why a biased run is biased ("" if it is not)."""
    if record.get("z_quantile_max") is not None and math.isfinite(record["z_quantile_max"]):
        # heavy-tailed parameters' means are not z-tested (MEAN_TEST_MAX_KURTOSIS)
        means = record.get("n_mean_tests")
        tests = (n_params if means is None else int(means)) + int(record["n_quantile_tests"])
        z_mean = record["z_mean_max"]
        worst = max(z_mean if math.isfinite(z_mean) else 0.0, record["z_quantile_max"])
        basis = "mean+quantiles"
    else:
        tests = 2 * n_params
        worst = max(record["z_mean_max"], record["z_var_max"])
        basis = "mean+variance"
    threshold = bias_threshold(tests)
    error = record.get("error_sd_max")
    off = error is not None and math.isfinite(error) and error > MAX_ERROR_SD
    reasons = []
    if off:
        reasons.append(f"a mean {error:.2g} posterior SD from the truth (> {MAX_ERROR_SD:g})")
    if worst > threshold:
        reasons.append(f"|z| = {worst:.3g} > {threshold:.3g} ({basis})")
    return {
        "bias_test": basis,
        "bias_z_threshold": threshold,
        "off_by_sd": bool(off),
        "biased": bool(off or worst > threshold),
        "bias_reason": "; ".join(reasons),
    }


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
# The same gates for reference draws the user supplies (route user_draws): rank R-hat over
# the file's chains (over its two halves for one chain: a drift still shows), bulk ESS of
# every parameter in the model's value variables, and divergences only where the file
# records them (an ArviZ file's sample_stats.diverging); a CSV has none to count.
USER_DRAWS_GATES_TEXT = (
    f"R-hat < {REFERENCE_MAX_RHAT:g} (split halves for one chain), bulk ESS >"
    f" {REFERENCE_MIN_ESS_BULK:,} for every parameter, and at most"
    f" {REFERENCE_MAX_DIVERGENCES} divergences where the file records them"
)

# The nested route's gates (nested sampling from the model's priors: nautilus): its own
# stopping rule reached (exploration done, its effective sample size at n_eff) and Kish's ESS
# of the importance weights above the NUTS references' bulk-ESS gate.
NESTED_GATES_TEXT = (
    "the sampler's own stopping rule reached (not a cap), Kish ESS of the weights >"
    f" {REFERENCE_MIN_ESS_BULK:,}"
)


def nested_reference_failures(ess_kish: float, converged: bool) -> list[str]:
    """Why a nested reference run's moments cannot serve as truth (empty: they can)."""
    failed = []
    if not converged:
        failed.append("stopped by a cap before its own stopping rule")
    if not (math.isfinite(ess_kish) and ess_kish > REFERENCE_MIN_ESS_BULK):
        failed.append(f"Kish ESS {ess_kish:.0f} is not > {REFERENCE_MIN_ESS_BULK}")
    return failed


# Where two routes of the reference rule pass their gates, their means must agree: per
# parameter z = |difference| / sqrt(MCSE_a² + MCSE_b²), and they disagree when the largest
# |z| exceeds the Bonferroni bound over the parameters at this family rate (two routes of
# the same posterior disagree by chance in at most 0.1% of references, as the bias test).
ROUTE_AGREEMENT_ALPHA = 1e-3


def route_agreement_threshold(n_params: int) -> float:
    """|z| above which two routes' means of ``n_params`` parameters disagree."""
    return bias_threshold(n_params, ROUTE_AGREEMENT_ALPHA)


ROUTES_DISAGREE_MEANING = (
    "two routes of the reference rule passed their gates but their means differ by more"
    " than their combined Monte Carlo errors allow (largest |z| over the parameters above"
    f" the Bonferroni bound at family α = {ROUTE_AGREEMENT_ALPHA:g}): at least one of them"
    " is not the model's posterior (a reference_model or a reference_draws file of another"
    " model, or NUTS biased on the model), so every bias verdict against the truth is in"
    " doubt"
)


# A run is timed under contention when the other processes on the machine used more than
# the cores its threads leave free, by more than this many cores (Snakemake's own polling,
# the kernel's work and the job's own start-up stay under it on an idle 2-core machine).
CONTENTION_TOLERANCE_CORES = 0.25

# A run whose timed sections ran beside another run's (of its study, on its machine) for more
# than this share of its clock is contended too: two one-thread runs on two CPUs each use
# only the core the other leaves free, so the load above never sees them, yet they slow
# each other through caches and memory bandwidth (nutpie 1.48x, emcee_vectorized 1.19x
# under --cores 2 without exclusive_sampling: benchmarks/neighbours.py, 2026-12-05).
SHARED_CLOCK_TOLERANCE = 0.25

CONTENDED_MEANING = (
    "timed under contention: while the run ran, other processes used more CPU than the"
    f" cores its threads left free (by more than {CONTENTION_TOLERANCE_CORES:g} cores), or"
    " another run of the study sampled beside it for more than"
    f" {SHARED_CLOCK_TOLERANCE:.0%} of its clock, so its clock may be slower than the sampler"
    " alone would be"
)


def mark_shared_clocks(records: list[dict]) -> list[dict]:
    """The records (copies) with ``shared_clock_seconds`` (the seconds of the run's timed
    sections during which another of these runs sampled on the same host, in the same SLURM
    job if any: :func:`essbench.clock.shared_seconds`) and ``shared_clock_share`` (of its
    timed seconds); a run above :data:`SHARED_CLOCK_TOLERANCE` becomes ``contended``, its
    ``contention_reason`` saying so."""
    from essbench import clock

    # Runs share cores on one host in one allocation: the machine, or one SLURM job (the
    # jobs SLURM puts on a node have their own cores; their load counts, as other users').
    runs = [
        (
            (str(r.get("prov_hostname") or ""), str(r.get("slurm_job_id") or "")),
            clock.sections_of(r),
        )
        for r in records
    ]
    out = []
    for record, (_, sections), shared in zip(
        records, runs, clock.shared_seconds(runs), strict=True
    ):
        record = dict(record)
        timed = sum(b - a for a, b in sections)
        share = shared / timed if timed > 0 else math.nan
        record["shared_clock_seconds"] = shared if sections else math.nan
        record["shared_clock_share"] = share
        if sections and share > SHARED_CLOCK_TOLERANCE:
            why = (
                f"timed beside another run's sampling for {share:.0%} of its clock"
                " (exclusive_sampling off)"
            )
            earlier = str(record.get("contention_reason") or "")
            record["contention_reason"] = f"{earlier}; {why}" if earlier else why
            record["contended"] = True
        out.append(record)
    return out


def contention_reason(record: dict) -> str:
    """Why a run's clock is not its own (empty: it is, or it cannot be told: no /proc)."""
    load, cpus = record.get("neighbour_load"), record.get("machine_cpus")
    # The cores the run keeps busy: what it was granted, or more where the sampler needs
    # more than Snakemake could grant (stan_nuts's reader under --cores 1).
    threads = max(int(record.get("threads") or 1), int(record.get("threads_needed") or 1))
    if load is None or cpus is None or not math.isfinite(load):
        return ""
    spare = max(0, int(cpus) - threads)
    if load <= spare + CONTENTION_TOLERANCE_CORES:
        return ""
    return (
        f"timed under contention: other processes used {load:.2f} cores beside its"
        f" {threads} thread(s) on {int(cpus)} CPUs"
    )
