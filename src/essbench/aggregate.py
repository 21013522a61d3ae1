"""Tidy tables of all runs, and the per-(sampler, target, dim) summary across seeds."""

import pandas as pd

from essbench import io

GROUP = ["sampler", "target", "dim"]
# Columns summarised across seeds: median and spread (quartiles, min, max).
SUMMARY_METRICS = [
    "cost_per_ess_mean",
    "cost_per_ess_min",
    "ess_bulk_mean",
    "ess_bulk_min",
    "ess_tail_min",
    "rhat_max",
    "sampling_seconds",
    "ess_per_grad",
    "ess_per_logp",
]
FRONT = [
    "study",
    "sampler",
    "target",
    "dim",
    "seed",
    "run_seed",
    "status",
    "reason",
    "cost_per_ess_mean",
    "cost_per_ess_min",
    "ess_bulk_mean",
    "ess_bulk_min",
    "ess_tail_min",
    "rhat_max",
    "sampling_seconds",
    "warmup_seconds",
    "draw_seconds",
    "compile_seconds",
]


def runs_table(records: list[dict], study: str) -> pd.DataFrame:
    df = pd.DataFrame.from_records(records)
    df.insert(0, "study", study)
    front = [c for c in FRONT if c in df.columns]
    df = df[front + [c for c in df.columns if c not in front]]
    return df.sort_values(["target", "dim", "sampler", "seed"], kind="stable").reset_index(
        drop=True
    )


def load_records(paths) -> list[dict]:
    return [io.read_json(p) for p in paths]


def summary_table(runs: pd.DataFrame) -> pd.DataFrame:
    """Median and spread across seeds of the successful runs, per (sampler, target, dim)."""
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
    for flag in ("unreliable", "biased"):
        if flag in ok.columns:
            n = ok.groupby(GROUP)[flag].apply(lambda s: int(s.fillna(False).astype(bool).sum()))
            out = out.merge(n.rename(f"n_{flag}").reset_index(), on=GROUP, how="left")
    return out


def write_table(df: pd.DataFrame, parquet=None, csv=None) -> None:
    if parquet:
        with io.atomic_path(parquet) as tmp:
            df.to_parquet(tmp, index=False)
    if csv:
        with io.atomic_path(csv) as tmp:
            df.to_csv(tmp, index=False)
