"""A study in progress: the headline and truth tables of the runs finished so far.

A large study (the field or paper config, on a laptop or half-way through on SLURM) writes
each run's record the moment the run finishes, but its tables wait for every run. This prints
the summary's headline and truth-recovered tables from the records already there, in the
same format, and says how many runs they cover:

    .venv/bin/python -m essbench.progress results/field [--sampler S ...] [--target T ...]
        [--baseline S] [--runs-csv FILE]

The study itself is untouched; only ``--runs-csv`` writes (the runs table of the records it
read, one row per run as in the study's own ``tables/runs.csv``, to keep a partial study's
numbers beyond its folder). Cells still running or not started are
absent, so a ratio to the baseline appears only where the baseline's run of that cell is
done. The ESS calibration (and so the empirical-ESS basis) needs every replicate of a cell,
and is left to the study's own summary.
"""

import argparse
import sys
from pathlib import Path

import pandas as pd

from essbench import aggregate, io, report


def finished_records(study_dir: Path, samplers=(), targets=()) -> list[dict]:
    """The run records under ``study_dir/runs`` (``<target>/d<dim>/<sampler>/r<n>.json``),
    optionally only those of some samplers or targets."""
    records = []
    for path in sorted((study_dir / "runs").glob("*/d*/*/r*.json")):
        target, _, sampler = path.parts[-4:-1]
        if (samplers and sampler not in samplers) or (targets and target not in targets):
            continue
        records.append(io.read_json(path))
    return records


def tables(records: list[dict], study: str, baseline: str | None = None) -> str:
    runs = aggregate.runs_table(records, study)
    summary = aggregate.summary_table(runs)
    n_ok = int((runs["status"] == "ok").sum())
    no_baseline = ""
    if baseline and baseline not in set(runs["sampler"]):
        no_baseline = (
            f"The baseline `{baseline}` has no finished run yet: each target's ratios are to"
            " the sampler its table names.\n"
        )
    parts = [
        f"# `{study}` so far: {len(runs)} finished runs ({n_ok} succeeded) of"
        f" {runs['sampler'].nunique()} samplers on {runs['target'].nunique()} target(s)\n",
        no_baseline,
        report.headline(summary, baseline),
        report.truth_recovered(runs),
        report.failures(runs),
    ]
    return "\n".join(p for p in parts if p)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("study_dir", type=Path, help="results/<study>")
    parser.add_argument("--sampler", action="append", default=[], help="only this sampler")
    parser.add_argument("--target", action="append", default=[], help="only this target")
    parser.add_argument("--baseline", help="the sampler ratios are to (default: none)")
    parser.add_argument("--runs-csv", type=Path, help="also write these runs' table here")
    args = parser.parse_args(argv)
    if not (args.study_dir / "runs").is_dir():
        parser.error(
            f"{args.study_dir}/runs does not exist: give a study's folder, results/<study>"
        )
    records = finished_records(args.study_dir, args.sampler, args.target)
    if not records:
        print(f"no finished runs under {args.study_dir}/runs match")
        return 1
    pd.set_option("display.width", 200)
    print(tables(records, args.study_dir.name, args.baseline))
    if args.runs_csv:
        aggregate.write_table(aggregate.runs_table(records, args.study_dir.name), csv=args.runs_csv)
    return 0


if __name__ == "__main__":
    sys.exit(main())
