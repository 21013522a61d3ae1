"""Publish a finished study into the repository (issue 30): its summary, standalone report,
figures, tables, config and commit, in a folder small enough for git (no draws), with a
README written from the run's own provenance; and the check that today's code regenerates
the published tables and summary from the published runs table, value for value.

    python -m essbench.publish results/<study> published/<study>-<date> --config <file>
    python -m essbench.publish --check published/<study>-<date>

What cannot be recomputed from the runs table is published as an input beside it: the
calibration table (from the runs' per-parameter vectors, which the runs table leaves out)
and the geometry table (from the targets' draws). A published folder whose regeneration no
longer matches because the code changed on purpose says so in ``CHANGES.md``, one line per
change (``- <date> <commit>: <table>: what changed and why``): :func:`check` then reports
the tables that line names as explained, not as mismatches.
"""

import argparse
import datetime as dt
import io as _io
import shutil
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from essbench import aggregate, decision, provenance, quantity_summary, report
from essbench import config as ebconfig

MAX_REPORT_BYTES = 10_000_000
MAX_FOLDER_BYTES = 50_000_000
TABLES = ("runs.parquet", "runs.csv", "summary.csv", "calibration.csv", "geometry.csv")
# Copied where the study has them (results from before named quantities do not).
OPTIONAL_TABLES = ("quantities.csv", "quantity_summary.csv")
DERIVED = ("summary.csv", "decision.csv")  # regenerated from the runs table and the inputs
PROVENANCE = ("study", "config_hash", "git_commit")
# A pause longer than this with no run going splits the study into pieces (resumptions).
PIECE_GAP_SECONDS = 600


def _stamp(seconds: float) -> str:
    return dt.datetime.fromtimestamp(float(seconds), dt.UTC).strftime("%Y-%m-%d %H:%M UTC")


def pieces(runs: pd.DataFrame, gap: float = PIECE_GAP_SECONDS) -> list[tuple[float, float]]:
    """The study's stretches of work: the union of its runs' [started_at, finished_at],
    split where no run was going for more than ``gap`` seconds."""
    spans = runs[["started_at", "finished_at"]].dropna().sort_values("started_at").to_numpy()
    out: list[list[float]] = []
    for start, end in spans:
        if out and start - out[-1][1] <= gap:
            out[-1][1] = max(out[-1][1], end)
        else:
            out.append([start, end])
    return [(float(a), float(b)) for a, b in out]


def clock_conditions(runs: pd.DataFrame) -> str:
    """What each run's clock shared the machine with: whether runs took turns
    (``exclusive_sampling``), the other processes' load (``neighbour_load``) and how many
    runs were timed under contention."""
    ok = runs[runs["status"] == "ok"]
    costed = aggregate.contenders(ok) if "sampler" in ok else ok  # an oracle's is no cost
    took = (
        costed["exclusive_sampling"].fillna(False).astype(bool)
        if "exclusive_sampling" in costed
        else pd.Series(False, index=costed.index)
    )
    strict = (
        costed["strict_sampling"].fillna(False).astype(bool).all()
        if "strict_sampling" in costed and len(costed)
        else False
    )
    turns = (
        "every costed run sampled alone, with no other essbench work beside it (each timed"
        " section paused every other job: `exclusive_sampling` `auto` outside SLURM, or"
        " `strict`)"
        if len(costed) and took.all() and strict
        else "every costed run sampled alone (`exclusive_sampling`), beside other jobs'"
        " untimed work at most"
        if len(costed) and took.all()
        else f"{int(took.sum())} of {len(costed)} costed runs sampled alone"
        " (`exclusive_sampling`); the rest beside the study's other jobs"
    )
    if "neighbour_load" not in ok or ok["neighbour_load"].isna().all():
        return f"{turns}; the other processes' load was not recorded"
    load = ok["neighbour_load"].astype(float)
    contended = int(ok["contended"].fillna(False).astype(bool).sum()) if "contended" in ok else 0
    return (
        f"{turns}; other processes used {load.median():.2f} cores (median over runs;"
        f" 90th percentile {load.quantile(0.9):.2f}) of the machine's"
        f" {int(ok['machine_cpus'].max())} while a run sampled; {contended} runs timed under"
        " contention (`contended`)"
    )


def readme(runs: pd.DataFrame, config: dict, commit_now: str) -> str:
    """The published folder's README, from the runs table's own provenance."""
    first = runs.iloc[0]
    stretches = pieces(runs)
    wall = sum(b - a for a, b in stretches)
    get = lambda k: first.get(k, "unknown")  # noqa: E731
    commits = sorted(runs["prov_git_commit"].dropna().astype(str).unique())
    hosts = sorted(runs["prov_hostname"].dropna().astype(str).unique())
    n_ok = int((runs["status"] == "ok").sum())
    lines = [
        f"# Published study `{config['study']}`",
        "",
        f"{len(runs)} runs ({n_ok} succeeded) of {runs['sampler'].nunique()} samplers on"
        f" {runs['target'].nunique()} targets; the answer and the verdict are in"
        " [summary.md](summary.md), the standalone report in [report.html](report.html).",
        "",
        "## Provenance (from the runs table)",
        "",
        f"- Config: [config.yaml](config.yaml), hash `{get('config_hash')}`",
        f"- Ran at commit(s): {', '.join(f'`{c}`' for c in commits)}; published at `{commit_now}`",
        f"- Machine: host(s) {', '.join(f'`{h}`' for h in hosts)}, CPU {get('prov_cpu')},"
        f" BLAS {get('prov_blas')}, {get('prov_threads')} thread(s) per run",
        f"- Dates: first run started {_stamp(runs['started_at'].min())}, last finished"
        f" {_stamp(runs['finished_at'].max())}",
        f"- Wall time with a run going: {wall / 3600:.2f} h in {len(stretches)} piece(s)"
        f" (a pause of over {PIECE_GAP_SECONDS // 60} minutes with no run going starts a new"
        f" piece); {runs['sampling_seconds'].sum() / 3600:.2f} h of sampling in all",
        f"- Clocks: {clock_conditions(runs)}",
        "",
        "## Reproduce",
        "",
        "`python -m essbench.publish --check <this folder>` regenerates `tables/summary.csv`,"
        " `tables/decision.csv` and `summary.md` from `tables/runs.parquet` (with the"
        " published calibration and geometry tables, which the runs table cannot give) using"
        " today's code, and compares them value for value (tests/test_publish.py). A change"
        " made on purpose is explained in `CHANGES.md`, one line per change.",
        "",
    ]
    return "\n".join(lines)


def publish(results, folder, config_path) -> Path:
    """Copy a finished study's results into ``folder`` (created; must not exist)."""
    results, folder = Path(results), Path(folder)
    if folder.exists():
        raise FileExistsError(f"{folder} exists: publish into a new folder")
    report_html = results / "report.html"
    if report_html.stat().st_size > MAX_REPORT_BYTES:
        raise ValueError(f"{report_html} is over {MAX_REPORT_BYTES / 1e6:.0f} MB")
    (folder / "tables").mkdir(parents=True)
    (folder / "figures").mkdir()
    for name in (*TABLES, "decision.csv"):
        shutil.copy2(results / "tables" / name, folder / "tables" / name)
    for name in OPTIONAL_TABLES:
        if (results / "tables" / name).exists():
            shutil.copy2(results / "tables" / name, folder / "tables" / name)
    for name in ("summary.md", "report.html"):
        shutil.copy2(results / name, folder / name)
    for figure in sorted((results / "figures").glob("*.p*")):  # png and pdf, no subfolders
        shutil.copy2(figure, folder / "figures" / figure.name)
    shutil.copy2(config_path, folder / "config.yaml")
    runs = pd.read_parquet(results / "tables" / "runs.parquet")
    config = yaml.safe_load(Path(config_path).read_text())
    commit = provenance.git_commit()
    (folder / "COMMIT").write_text(
        "\n".join(sorted(runs["prov_git_commit"].dropna().astype(str).unique())) + "\n"
    )
    (folder / "README.md").write_text(readme(runs, config, commit))
    size = sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())
    if size > MAX_FOLDER_BYTES:
        raise ValueError(f"{folder} holds {size / 1e6:.0f} MB, over {MAX_FOLDER_BYTES / 1e6:.0f}")
    return folder


def regenerate(folder) -> dict:
    """Today's code on the published runs table: ``summary.csv`` and ``decision.csv`` as
    CSV text (written as the aggregate rule writes them) and ``summary.md``."""
    folder = Path(folder)
    runs = pd.read_parquet(folder / "tables" / "runs.parquet")
    calibration = pd.read_csv(folder / "tables" / "calibration.csv")
    geometry = pd.read_csv(folder / "tables" / "geometry.csv")
    config = ebconfig.validate(yaml.safe_load((folder / "config.yaml").read_text()))
    prov = {k: runs[k].iloc[0] for k in PROVENANCE if k in runs}
    out = {}
    summary = aggregate.summary_table(runs, calibration)
    out["summary.csv"] = _csv(summary, prov)
    table = decision.table(runs, calibration, geometry)
    out["decision.csv"] = _csv(table, None)
    quantities = folder / "tables" / "quantities.csv"
    out["summary.md"] = report.summary_markdown(
        study=config["study"],
        config_hash=str(prov.get("config_hash", "")),
        runs=runs,
        summary=pd.read_csv(_io.StringIO(out["summary.csv"])),
        calibration=calibration,
        published=config.get("published"),
        baseline=ebconfig.baseline(config),
        decision=pd.read_csv(_io.StringIO(out["decision.csv"])),
        quantities=quantity_summary.read(quantities) if quantities.exists() else None,
    )
    return out


def _csv(df: pd.DataFrame, prov: dict | None) -> str:
    buffer = _io.StringIO()
    aggregate.with_provenance(df, prov).to_csv(buffer, index=False)
    return buffer.getvalue()


def _explained(folder: Path) -> set[str]:
    changes = folder / "CHANGES.md"
    if not changes.exists():
        return set()
    text = changes.read_text()
    return {name for name in (*DERIVED, "summary.md") if f": {name}:" in text}


def check(folder) -> list[str]:
    """One line per published table or summary that today's code does not reproduce value
    for value (empty: all do), those ``CHANGES.md`` explains left out."""
    folder = Path(folder)
    fresh, explained, problems = regenerate(folder), _explained(folder), []
    for name in DERIVED:
        if name in explained:
            continue
        old = pd.read_csv(folder / "tables" / name)
        new = pd.read_csv(_io.StringIO(fresh[name]))
        if list(old.columns) != list(new.columns) or len(old) != len(new):
            problems.append(f"{name}: columns or rows differ")
            continue
        for column in old.columns:
            a, b = old[column], new[column]
            if pd.api.types.is_numeric_dtype(a) and pd.api.types.is_numeric_dtype(b):
                same = np.isclose(a, b, rtol=1e-9, atol=0, equal_nan=True)
            else:
                # Missing on both sides is the same (pandas' string dtype keeps NaN != NaN).
                same = ((a.astype(str) == b.astype(str)) | (a.isna() & b.isna())).to_numpy()
            if not same.all():
                row = int(np.argmin(same))
                problems.append(f"{name}: {column} row {row}: {a.iloc[row]!r} -> {b.iloc[row]!r}")
    if "summary.md" not in explained:
        old = (folder / "summary.md").read_text().splitlines()
        new = fresh["summary.md"].splitlines()
        diff = [
            f"{i}: {a!r} -> {b!r}" for i, (a, b) in enumerate(zip(old, new, strict=False)) if a != b
        ]
        if diff or len(old) != len(new):
            problems.append(f"summary.md: {len(diff)} line(s) differ, first {diff[:1]}")
    return problems


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("results", help="results/<study> (or, with --check, the folder)")
    parser.add_argument("folder", nargs="?", help="published/<study>-<date>")
    parser.add_argument("--config", help="the study's config file")
    parser.add_argument("--check", action="store_true", help="regenerate and compare")
    args = parser.parse_args(argv)
    if args.check:
        problems = check(args.results)
        print("\n".join(problems) or "reproduced value for value")
        return 1 if problems else 0
    if not args.folder or not args.config:
        parser.error("publishing needs the folder and --config")
    print(publish(args.results, args.folder, args.config))
    return 0


if __name__ == "__main__":
    sys.exit(main())
