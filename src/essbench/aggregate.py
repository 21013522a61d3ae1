"""Tidy tables of all runs, and the per-(sampler, target, dim) summary across replicates."""

import numpy as np
import pandas as pd

from essbench import io, policy

GROUP = ["sampler", "target", "dim"]
# Columns summarised across replicates: median and spread (quartiles, min, max).
SUMMARY_METRICS = [
    "cost_per_ess_mean",
    "cost_per_ess_min",
    "ess_bulk_mean",
    "ess_bulk_min",
    "ess_tail_min",
    "ess_kish",
    "rhat_max",
    "sampling_seconds",
    "ess_per_grad",
    "ess_per_logp",
    "time_to_goal_seconds",
    # The MCHMC papers' cost (essbench.literature), beside cost per ESS, never mixed with it.
    "grads_to_bias_avg",
    "grads_to_bias_max",
]
FRONT = [
    "study",
    "sampler",
    "target",
    "dim",
    "replicate",
    "random_seed",
    "status",
    "reason",
    "cost_per_ess_mean",
    "cost_per_ess_min",
    "ess_basis",
    "ess_bulk_mean",
    "ess_bulk_min",
    "ess_tail_min",
    "ess_kish",
    "rhat_max",
    "sampling_seconds",
    "warmup_seconds",
    "draw_seconds",
    "compile_seconds",
]


def sq_error_mean(record: dict) -> float:
    """A run's mean over parameters of (mean estimate - true mean)^2 / true variance: the
    per-run term of the empirical ESS (``calibration_table``), nan where the run has no
    per-parameter means or no truth. Kept as a scalar column, so that a bootstrap over a
    cell's replicates (the verdict) can recompute its empirical ESS from the runs table."""
    if record.get("param_mean") is None or record.get("truth_mean") is None:
        return np.nan
    mean, truth = np.asarray(record["param_mean"], float), np.asarray(record["truth_mean"], float)
    return float(np.mean((mean - truth) ** 2 / np.asarray(record["truth_var"], float)))


def error_sd_max(record: dict) -> float:
    """A run's largest |mean estimate - true mean| over parameters in true posterior SDs:
    the record's own (``metrics.bias_z``), else from its per-parameter vectors (records
    diagnosed before the one-posterior-SD rule), nan where it has neither."""
    if record.get("error_sd_max") is not None:
        return float(record["error_sd_max"])
    if record.get("param_mean") is None or record.get("truth_mean") is None:
        return np.nan
    mean, truth = np.asarray(record["param_mean"], float), np.asarray(record["truth_mean"], float)
    return float(np.max(np.abs(mean - truth) / np.sqrt(np.asarray(record["truth_var"], float))))


def wrong_answers(runs: pd.DataFrame) -> pd.Series:
    """Which runs did not recover the truth: ``biased``, or (whatever the record says, for
    records older than the rule) a mean more than ``policy.MAX_ERROR_SD`` posterior SDs off."""
    from essbench import policy

    wrong = pd.Series(False, index=runs.index)
    if "biased" in runs:
        wrong |= runs["biased"].fillna(False).astype(bool)
    if "error_sd_max" in runs:
        wrong |= (
            pd.to_numeric(runs["error_sd_max"], errors="coerce").fillna(0) > policy.MAX_ERROR_SD
        )
    return wrong


def _number_or_infinity(value) -> bool:
    if isinstance(value, bool):
        return False
    return isinstance(value, int | float) or value in ("inf", "-inf")


def _evals_to_bias(record: dict) -> dict:
    """The unit of a record's ``grads_to_bias_*`` where the record predates
    ``grads_to_bias_unit``: gradients, the only evaluations counted then (a gradient-free
    run of that time has none: redo it to count its log-density evaluations)."""
    if record.get("grads_to_bias_unit") or record.get("grads_to_bias_avg") is None:
        return {}
    return {"grads_to_bias_unit": "grad"} if record.get("stat_tree_size_mean") else {}


def runs_table(records: list[dict], study: str) -> pd.DataFrame:
    # Which runs' clocks ran beside each other's (needs every run: computed here, and by
    # essbench.redo from the same records).
    records = policy.mark_shared_clocks(records)
    df = pd.DataFrame.from_records(
        [
            {k: v for k, v in r.items() if k not in VECTOR_COLUMNS}
            | {"sq_error_mean": sq_error_mean(r), "error_sd_max": error_sd_max(r)}
            | _evals_to_bias(r)
            for r in records
        ]
    )
    # JSON has no nan: a number that is nan in every run (ess_per_logp in a study of
    # gradient samplers only) reads back as a column of None; make it a float column
    empty = [c for c in df.columns if df[c].dtype == object and df[c].isna().all()]
    df[empty] = df[empty].astype(float)
    # JSON has no infinity either: essbench.io writes it as "inf" (grads_to_bias of a run
    # that never reached low bias); a column of numbers and such strings is numeric.
    textual = [c for c in df.columns if pd.api.types.is_string_dtype(df[c]) or df[c].dtype == "O"]
    for column in textual:
        values = df[column].dropna()
        if len(values) and all(_number_or_infinity(v) for v in values):
            df[column] = pd.to_numeric(df[column]).astype(float)
    # The one-posterior-SD rule on every judged run, also those diagnosed before it.
    if "biased" in df and df["biased"].notna().any():  # none judged: no truth (nothing to do)
        judged = df["biased"].notna()
        df.loc[judged, "biased"] = wrong_answers(df[judged])
    # The shared model's compile time spread over the study's runs of that model (computed
    # here, so that a run's record does not depend on which other samplers the study has).
    if "model_compile_seconds" in df.columns:
        per_model = df.groupby(["target", "dim"])["sampler"].transform("size")
        df["model_compile_amortized_seconds"] = df["model_compile_seconds"] / per_model
    if "study" in df.columns:
        df = df.drop(columns="study")
    df.insert(0, "study", study)
    front = [c for c in FRONT if c in df.columns]
    df = df[front + [c for c in df.columns if c not in front]]
    return df.sort_values(["target", "dim", "sampler", "replicate"], kind="stable").reset_index(
        drop=True
    )


def load_records(manifests) -> list[dict]:
    """The run records that the batch manifests list, in the manifests' order."""
    records = []
    for manifest in manifests:
        for entry in io.read_json(manifest)["runs"]:
            try:
                records.append(io.read_json(entry["record"]))
            except FileNotFoundError:
                raise FileNotFoundError(
                    f"{entry['record']} (listed by {manifest}) is missing: delete {manifest}"
                    " and run the study again to redo that run"
                ) from None
    return records


def is_oracle(sampler: str) -> bool:
    """Whether the sampler is an oracle (``exact``): a reference for the flags, never costed."""
    from essbench import registry

    plugin = registry.find_sampler(sampler)
    return bool(plugin is not None and plugin.ORACLE)


def contenders(runs: pd.DataFrame) -> pd.DataFrame:
    """The runs of samplers that compete on cost: every sampler but the oracles."""
    if not len(runs):
        return runs
    oracle = {name: is_oracle(name) for name in runs["sampler"].unique()}
    return runs[~runs["sampler"].map(oracle).astype(bool)]


def summary_table(runs: pd.DataFrame, calibration: pd.DataFrame | None = None) -> pd.DataFrame:
    """Median and spread across replicates of the successful runs, per (sampler, target, dim);
    oracles (the exact sampler) are left out: their costs mean nothing. With the study's
    ``calibration`` table, each cell also gets its headline cost on its basis
    (:func:`with_headline_cost`)."""
    runs = contenders(runs)
    ok = runs[runs["status"] == "ok"]
    metrics = [m for m in SUMMARY_METRICS if m in ok.columns]
    grouped = ok.groupby(GROUP, sort=True)[metrics]
    parts = {
        "median": grouped.median(),
        "q25": grouped.quantile(0.25),
        "q75": grouped.quantile(0.75),
        "min": grouped.min(),
        "max": grouped.max(),
    }
    wide = pd.concat(parts, axis=1)
    wide.columns = [f"{metric}_{stat}" for stat, metric in wide.columns]
    counts = runs.groupby(GROUP, sort=True)["status"].agg(
        n_runs="size", n_ok=lambda s: int((s == "ok").sum())
    )
    out = counts.join(wide, how="left").reset_index()
    for flag in ("unreliable", "biased", "censored"):
        if flag in ok.columns:
            n = ok.groupby(GROUP)[flag].apply(lambda s: int(s.fillna(False).astype(bool).sum()))
            out = out.merge(n.rename(f"n_{flag}").reset_index(), on=GROUP, how="left")
    return with_headline_cost(out, calibration)


# The basis of a headline cost per effective sample: what its seconds are divided by.
COST_BASES = {
    "estimator": "the estimator's bulk ESS (mean over parameters), median over replicates",
    "empirical": "the empirical ESS (from the replicates' errors against the truth, pooled"
    " over replicates and parameters), with its 95% interval",
}
# Why a headline cost is on the empirical basis: said by every table and sentence that uses it.
EMPIRICAL_BASIS_REASON = (
    "the estimator's ESS disagreed with the empirical one beyond its 95% interval"
)


def cost_bases(calibration: pd.DataFrame | None) -> dict[tuple, str]:
    """The basis of each (sampler, target, dim)'s headline cost: ``empirical`` where the
    calibration table's ``bases_disagree`` holds (the estimator's cost lies outside the
    empirical cost's interval), else ``estimator`` (cells absent here are ``estimator``)."""
    if calibration is None or not len(calibration) or "bases_disagree" not in calibration:
        return {}
    disagree = calibration["bases_disagree"].fillna(False).astype(bool)
    return {
        (r.sampler, r.target, int(r.dim)): "empirical" if d else "estimator"
        for r, d in zip(calibration.itertuples(), disagree, strict=True)
    }


def with_headline_cost(summary: pd.DataFrame, calibration: pd.DataFrame | None) -> pd.DataFrame:
    """Add each cell's headline cost per effective sample and the basis it uses.

    ``cost_basis`` is ``estimator`` (``headline_cost_per_ess`` = the median over replicates
    of ``cost_per_ess_mean``, ``_lo``/``_hi`` their min and max) unless the two bases
    disagree (:func:`cost_bases`): then ``empirical`` (``cost_per_ess_empirical`` and its
    95% interval from the calibration table).
    """
    out = summary.copy()
    if not len(out) or "cost_per_ess_mean_median" not in out:
        return out
    bases = cost_bases(calibration)
    keys = list(zip(out["sampler"], out["target"], out["dim"].astype(int), strict=True))
    out["cost_basis"] = [bases.get(k, "estimator") for k in keys]
    out["headline_cost_per_ess"] = out["cost_per_ess_mean_median"]
    out["headline_cost_per_ess_lo"] = out["cost_per_ess_mean_min"]
    out["headline_cost_per_ess_hi"] = out["cost_per_ess_mean_max"]
    empirical = out["cost_basis"] == "empirical"
    if empirical.any():
        cal = calibration.set_index(GROUP)
        at = pd.MultiIndex.from_frame(out.loc[empirical, GROUP].astype({"dim": int}))
        for suffix in ("", "_lo", "_hi"):
            values = cal[f"cost_per_ess_empirical{suffix}"].reindex(at).to_numpy()
            out.loc[empirical, f"headline_cost_per_ess{suffix}"] = values
    return out


def with_provenance(df: pd.DataFrame, provenance: dict | None) -> pd.DataFrame:
    """Prefix the table with provenance columns (study, config hash, git commit)."""
    if not provenance:
        return df
    df = df.copy()
    for i, (key, value) in enumerate(provenance.items()):
        if key in df.columns:
            df = df.drop(columns=key)
        df.insert(i, key, value)
    return df


def write_table(df: pd.DataFrame, parquet=None, csv=None, provenance: dict | None = None) -> None:
    """Write a table atomically; ``provenance`` columns go first in every row."""
    df = with_provenance(df, provenance)
    if parquet:
        with io.atomic_path(parquet) as tmp:
            df.to_parquet(tmp, index=False)
    if csv:
        with io.atomic_path(csv) as tmp:
            df.to_csv(tmp, index=False)


# Lists in a run's record, not table columns (the named quantities: their own table,
# essbench.quantity_summary).
VECTOR_COLUMNS = (
    "param_mean",
    "param_ess_bulk",
    "param_ess_kish",
    "truth_mean",
    "truth_var",
    "quantities",
    "quantity_metrics",
)


# The empirical ESS of a cell needs replicates: with fewer, its interval spans decades.
MIN_REPLICATES_EMPIRICAL = 3
# The effective degrees of freedom use an upper confidence bound, at this level, of the
# variance of the replicates' ratios: estimated from a handful of replicates, a plain
# moment estimate is often too small, and the interval too narrow (on exact draws of
# gaussian_illcond and neals_funnel, 5 replicates: 11-12% of 95% intervals missed 1; with
# a 90% bound 4% and 3%, but 10% on errors with a Student-t(3) scale per replicate;
# tests/test_interval_calibration.py, benchmarks/basis_calibration.py).
DOF_VARIANCE_LEVEL = 0.95


# The fewest degrees of freedom a replicate counts for in the ESS-calibration interval.
MIN_DOF_PER_REPLICATE = 0.25


def effective_dof(u: np.ndarray, inv_ess: np.ndarray) -> float:
    """The effective number of chi2 degrees of freedom of a cell's pooled ratio.

    ``u`` and ``inv_ess`` are (replicates, parameters). Each replicate's ratio
    r = mean(u) / mean(1 / ESS) is about chi2_ν / ν with ν its effective number of
    independent parameters (ν = parameters for independent errors; fewer for correlated
    or heavy-tailed ones): ν = 2 mean(r)^2 / Var(r), with Var(r) the upper
    ``DOF_VARIANCE_LEVEL`` confidence bound of the replicates' sample variance (chi2 with
    replicates - 1 degrees of freedom), capped at the parameter count. Replicates are
    independent, so the cell has replicates x ν. With one replicate (no spread to measure),
    or replicates whose ratios agree exactly, ν is the parameter count. ν is at least
    :data:`MIN_DOF_PER_REPLICATE`: heavy-tailed errors need fewer than one degree of freedom
    (their squared errors spread more than a chi2_1's), but at none the interval's upper end
    runs off to infinity (a figure on a log axis then cannot be drawn).
    """
    from scipy.stats import chi2

    replicates, params = u.shape
    r = u.mean(axis=1) / inv_ess.mean(axis=1)
    if replicates < 2:
        return float(u.size)
    var = float(np.var(r, ddof=1))
    upper = var * (replicates - 1) / chi2.ppf(1 - DOF_VARIANCE_LEVEL, replicates - 1)
    nu = 2.0 * float(np.mean(r)) ** 2 / upper if upper > 0 else float(params)
    return float(replicates * min(params, max(nu, MIN_DOF_PER_REPLICATE)))


def calibration_table(records: list[dict], level: float = 0.95) -> pd.DataFrame:
    """ESS calibration across replicates, per (sampler, target, dim).

    For each successful run s and parameter p, u = (mean estimate - true mean)^2 / true
    variance. If the reported ESS is honest, u is about chi2_1 / ESS, so:

    - ``ess_empirical`` = 1 / mean(u), pooled over replicates and parameters;
    - ``ess_estimator`` = 1 / mean(1 / ESS), the matching pooled (harmonic) ESS of the runs'
      own estimator, bulk or (importance-weighted runs) Kish's: ``ess_basis`` says which;
    - ``ratio`` = ess_estimator / ess_empirical (1 when the ESS is honest, > 1 when the
      estimator promises more precision than the replicates deliver);
    - ``ratio_lo`` / ``ratio_hi``: a ``level`` interval from n * ratio ~ chi2_n, n the
      effective number of degrees of freedom ``dof`` (:func:`effective_dof`): replicates are
      independent, parameters are not (correlated targets), and a heavy tail's squared
      errors are far from chi2_1, so n is measured from the spread of the replicates' own
      ratios, not assumed to be replicates x parameters;
    - ``cost_per_ess_empirical``: mean sampling seconds ÷ ``ess_empirical``, with its
      ``level`` interval (``_lo``/``_hi``, from the same chi2), where a cell has at least
      ``MIN_REPLICATES_EMPIRICAL`` replicates (nan otherwise, and for oracles, which have no
      cost); ``cost_per_ess_estimator`` divides the same seconds by ``ess_estimator``, and
      ``bases_disagree`` says whether it falls outside the empirical interval.
    """
    from scipy.stats import chi2

    rows = []
    ok = [
        r
        for r in records
        if r.get("status") == "ok"
        and r.get("param_mean") is not None
        and r.get("truth_mean") is not None  # no truth (a failed reference): no empirical ESS
    ]
    groups: dict[tuple, list[dict]] = {}
    for r in ok:
        groups.setdefault((r["sampler"], r["target"], int(r["dim"])), []).append(r)
    alpha = 1 - level
    for (sampler, target, dim), runs in sorted(groups.items()):
        true_mean, true_var = np.array(runs[0]["truth_mean"]), np.array(runs[0]["truth_var"])
        means = np.array([r["param_mean"] for r in runs])
        basis = runs[0].get("ess_basis", "bulk")
        ess = np.array([r[f"param_ess_{basis}"] for r in runs])
        u = (means - true_mean) ** 2 / true_var
        n = effective_dof(u, 1.0 / ess)
        mean_u, mean_inv_ess = float(u.mean()), float((1.0 / ess).mean())
        ratio = mean_u / mean_inv_ess
        seconds = float(np.mean([r["sampling_seconds"] for r in runs]))
        ess_emp = 1.0 / mean_u if mean_u > 0 else np.inf
        costed = len(runs) >= MIN_REPLICATES_EMPIRICAL and not is_oracle(sampler)
        cost_emp = seconds / ess_emp if costed else np.nan
        # n / ESS_true ~ chi2_n / ESS_emp: ESS_true in ESS_emp [chi2_lo, chi2_hi] / n
        cost_lo = cost_emp * n / chi2.ppf(1 - alpha / 2, n)
        cost_hi = cost_emp * n / chi2.ppf(alpha / 2, n)
        cost_est = seconds * mean_inv_ess if costed else np.nan
        rows.append(
            {
                "sampler": sampler,
                "target": target,
                "dim": dim,
                "n_replicates": len(runs),
                "n_terms": u.size,
                "dof": n,
                "ess_basis": basis,
                "ess_empirical": 1.0 / mean_u if mean_u > 0 else np.inf,
                "ess_estimator": 1.0 / mean_inv_ess,
                "ratio": ratio,
                "ratio_lo": ratio * n / chi2.ppf(1 - alpha / 2, n),
                "ratio_hi": ratio * n / chi2.ppf(alpha / 2, n),
                "cost_per_ess_estimator": cost_est,
                "cost_per_ess_empirical": cost_emp,
                "cost_per_ess_empirical_lo": cost_lo,
                "cost_per_ess_empirical_hi": cost_hi,
                "bases_disagree": bool(costed and not cost_lo <= cost_est <= cost_hi),
            }
        )
    return pd.DataFrame(rows)
