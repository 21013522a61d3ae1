"""Named quantities across runs: the long-form table, its summary per cell, and the summary's
section (the headline cost per effective sample of each quantity, and the verdict stated for
it). The measures themselves are :mod:`essbench.quantities`'.

``tables/quantities.csv``: one row per finished run and quantity element; every column is
the quantity's own (``ess_bulk`` is the bulk ESS of that quantity, ``cost_per_ess`` the run's
sampling seconds ÷ that quantity's ESS on ``ess_basis``), beside the run's keys and flags
(``run_unreliable``, ``run_unreliable_reason``: the run's own, e.g. its divergences).
``tables/quantity_summary.csv``: per (target, dim, quantity, sampler), the median and the
[min, max] over replicates of ``cost_per_ess``, the medians of the ESS, the largest R-hat, and
how many runs were flagged or biased.
"""

import math

import pandas as pd

from essbench.aggregate import contenders
from essbench.plots import _order

KEYS = ["sampler", "target", "dim", "replicate"]
CELL = ["target", "dim", "quantity", "sampler"]
COLUMNS = [
    *KEYS,
    "quantity",
    "variable",
    "cost_per_ess",
    "ess_basis",
    "ess_bulk",
    "ess_tail",
    "ess_kish",
    "rhat",
    "rhat_threshold",
    "rhat_flagged",
    "mean",
    "sd",
    "truth_source",
    "truth_failure",
    "truth_mean",
    "truth_sd",
    "z_mean",
    "z_quantile_max",
    "error_sd",
    "bias_test",
    "biased",
    "bias_reason",
    "sampling_seconds",
    "run_unreliable",
    "run_unreliable_reason",
    "run_censored",
]


def quantities_table(records: list[dict]) -> pd.DataFrame:
    """One row per finished run and named quantity element (empty, with its columns, for a
    study that names none)."""
    rows = []
    for record in records:
        if record.get("status") != "ok":
            continue
        for found in record.get("quantity_metrics") or []:
            rows.append(
                {
                    **{k: record.get(k) for k in KEYS},
                    **found,
                    "sampling_seconds": record.get("sampling_seconds"),
                    "run_unreliable": record.get("unreliable"),
                    "run_unreliable_reason": record.get("unreliable_reason", ""),
                    "run_censored": record.get("censored"),
                }
            )
    table = pd.DataFrame(rows, columns=COLUMNS)
    return table.sort_values(["target", "dim", "quantity", "sampler", "replicate"], kind="stable")


def _flag(series: pd.Series) -> pd.Series:
    return series.astype("boolean").fillna(False).astype(bool)


def unreliable(table: pd.DataFrame) -> pd.Series:
    """A quantity's ESS is not to be trusted where its run's is not (divergences, τ, a cap)
    or its own R-hat is above its threshold."""
    return _flag(table["run_unreliable"]) | _flag(table["rhat_flagged"])


def summary_table(table: pd.DataFrame) -> pd.DataFrame:
    """Per (target, dim, quantity, sampler) over replicates (oracles left out: they have no
    cost): ``cost_per_ess_median`` [``_min``, ``_max``], ``ess_bulk_median``,
    ``ess_tail_median``, ``rhat_max``, ``n_runs``, ``n_unreliable``, ``n_biased`` (of the runs
    judged: ``n_judged``), ``truth_source`` and ``truth_failure``."""
    table = contenders(table)
    if not len(table):
        return pd.DataFrame(columns=[*CELL, "n_runs", "cost_per_ess_median"])
    table = table.assign(unreliable=unreliable(table))
    rows = []
    for key, cell in table.groupby(CELL, sort=True):
        judged = cell["biased"].notna()
        rows.append(
            {
                **dict(zip(CELL, key, strict=True)),
                "n_runs": len(cell),
                "ess_basis": cell["ess_basis"].iloc[0],
                "cost_per_ess_median": cell["cost_per_ess"].median(),
                "cost_per_ess_min": cell["cost_per_ess"].min(),
                "cost_per_ess_max": cell["cost_per_ess"].max(),
                "ess_bulk_median": cell["ess_bulk"].median(),
                "ess_tail_median": cell["ess_tail"].median(),
                "rhat_max": cell["rhat"].max(),
                "n_unreliable": int(cell["unreliable"].sum()),
                "n_judged": int(judged.sum()),
                "n_biased": int(_flag(cell.loc[judged, "biased"]).sum()),
                "n_censored": int(_flag(cell["run_censored"]).sum()),
                "truth_source": cell["truth_source"].iloc[0],
                "truth_failure": cell["truth_failure"].fillna("").iloc[0],
            }
        )
    return pd.DataFrame(rows)


# --- the summary's section -------------------------------------------------------------------


def truth_text(source: str) -> str:
    """What made a quantity's truth: the runs table's truth, whose draws were mapped
    through the model (:func:`essbench.quantities.posterior_draws`)."""
    from essbench.report import TRUTH_TEXT

    if source == "exact":
        return "exact draws (`sample_truth`), mapped through the model"
    return f"{TRUTH_TEXT.get(source, source)}: its draws, mapped through the model"


def _ms(x: float) -> str:
    from essbench.report import ms_text

    return ms_text(x * 1e3)


def verdict_runs(table: pd.DataFrame, quantity: str) -> pd.DataFrame:
    """The runs of one quantity as :mod:`essbench.verdict` reads a runs table: its cost is
    the quantity's ``cost_per_ess``, its flags the run's and the quantity's own, its bias
    the quantity's."""
    rows = table[table["quantity"] == quantity]
    flagged = _flag(rows["rhat_flagged"])
    reasons = [
        "; ".join(
            r
            for r in (
                run if isinstance(run, str) else "",
                f"rhat of {quantity}={rhat:.3f}>{threshold:.3g}" if own else "",
            )
            if r
        )
        for run, own, rhat, threshold in zip(
            rows["run_unreliable_reason"],
            flagged,
            rows["rhat"],
            rows["rhat_threshold"],
            strict=True,
        )
    ]
    return pd.DataFrame(
        {
            "sampler": rows["sampler"],
            "target": rows["target"],
            "dim": rows["dim"],
            "replicate": rows["replicate"],
            "status": "ok",
            "cost_per_ess_mean": rows["cost_per_ess"],
            "sampling_seconds": rows["sampling_seconds"],
            "unreliable": unreliable(rows),
            "unreliable_reason": reasons,
            "censored": _flag(rows["run_censored"]),
            "biased": rows["biased"],
            "bias_reason": rows["bias_reason"],
            "error_sd_max": rows["error_sd"],
        }
    )


def section(table: pd.DataFrame, summary: pd.DataFrame, baseline: str | None) -> str:
    """``## Named quantities``: per target, d and quantity, each sampler's cost per effective
    sample of that quantity (median [min–max] over replicates), its ESS and R-hat, and the
    runs that recovered its truth; then the verdict stated for the quantity (its cost as a
    multiple of the baseline's, bootstrap over replicates, as the study's verdict)."""
    from essbench import policy, verdict

    if summary is None or not len(summary):
        return ""
    lines = [
        "## Named quantities\n",
        "Each quantity the config names (`quantities:`), measured in the model's own terms"
        " on every run's draws mapped through the model: cost per effective sample of that"
        " quantity (`cost_per_ess`: sampling seconds ÷ the quantity's bulk ESS, Kish's ESS"
        " for importance-weighted runs), median [min–max] over replicates; its bulk and"
        " tail ESS (medians), largest R-hat, and the runs that recovered its truth (the bias"
        f" test on the quantity alone: biased where {policy.QUANTITY_BIASED_MEANING}). Per run:"
        " `tables/quantities.csv`.\n",
    ]
    for (target, dim, quantity), cell in summary.groupby(["target", "dim", "quantity"], sort=False):
        cell = cell.set_index("sampler").loc[sorted(cell["sampler"], key=_order)]
        source = cell["truth_source"].iloc[0]
        truth = f"none: {cell['truth_failure'].iloc[0]}" if source == "none" else truth_text(source)
        lines += [
            f"### `{quantity}` on `{target}` at d = {dim}\n",
            f"Truth: {truth}.\n",
            "| sampler | ms/ESS of the quantity | bulk ESS | tail ESS | R-hat max |"
            " truth recovered |",
            "|---|---|---|---|---|---|",
        ]
        for sampler, row in cell.iterrows():
            mark = " †" if row["n_unreliable"] else ""
            mark += " ≥" if row["n_censored"] else ""
            cost = (
                f"{_ms(row['cost_per_ess_median'])} [{_ms(row['cost_per_ess_min'])}–"
                f"{_ms(row['cost_per_ess_max'])}]{mark}"
            )
            if row["n_judged"]:
                ok = row["n_judged"] - row["n_biased"]
                recovered = f"{ok}/{row['n_judged']}" + (" ✗" if row["n_biased"] else "")
            else:
                recovered = "not checked"
            lines.append(
                f"| `{sampler}` | {cost} | {_number(row['ess_bulk_median'])} |"
                f" {_number(row['ess_tail_median'])} | {row['rhat_max']:.3f} | {recovered} |"
            )
        lines.append("")
        if baseline:
            runs = verdict_runs(table, quantity)
            runs = runs[(runs["target"] == target) & (runs["dim"] == dim)]
            said = verdict.table_markdown(runs, baseline)
            if said:
                lines += [
                    f"Verdict for `{quantity}`: its cost per effective sample as a multiple of"
                    f" `{baseline}`'s, with a 95% bootstrap interval over replicates.\n",
                    said,
                ]
    lines.append(
        "† at least one replicate's ESS of the quantity is not trustworthy (its run is flagged"
        " unreliable, or the quantity's own R-hat is above its threshold); ≥ at least one"
        " replicate is censored."
    )
    return "\n".join(lines) + "\n"


def _number(x) -> str:
    return "n/a" if x is None or not math.isfinite(float(x)) else f"{float(x):,.0f}"


def read(path) -> pd.DataFrame:
    """A quantities table written by the aggregate rule (empty when it has no rows)."""
    try:
        return pd.read_csv(path)
    except pd.errors.EmptyDataError:
        return pd.DataFrame(columns=COLUMNS)
