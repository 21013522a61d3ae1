"""Redo chosen runs of a study: set their records aside and let Snakemake run them again.

A run timed under contention (``contended`` in the runs table: another process used cores
its clock needed) has honest draws but a cost that may be too high. After the study, on a
quiet machine::

    python -m essbench.redo results/<study> --contended          # what would be redone
    python -m essbench.redo results/<study> --contended --apply  # set them aside
    snakemake --cores 2 --configfile <the study's config>        # runs only those again

Nothing is deleted: each chosen record moves to ``results/<study>/set_aside/<time>/`` (with
its path under ``runs/``), and the manifest of every batch that listed one is removed, so
Snakemake plans that batch again; its other runs keep their records and are not recomputed
(a batch keeps every finished record whose settings hash matches). The study's runs table
(``tables/runs.parquet``) moves aside too: once a study has finished, Snakemake would
otherwise find its tables up to date and plan nothing (seen on the answer study,
2026-12-05). ``--sampler`` and ``--target`` narrow the choice (or choose on their own:
``--sampler emcee`` redoes every emcee run).
"""

import argparse
import datetime as dt
import shutil
import sys
from dataclasses import dataclass, field
from pathlib import Path

from essbench import io, policy


@dataclass
class Plan:
    """What :func:`plan` chose: records to set aside and the manifests that list them."""

    records: list[Path] = field(default_factory=list)
    manifests: list[Path] = field(default_factory=list)
    reasons: dict = field(default_factory=dict)  # record path -> why it was chosen


def _chosen(record: dict, contended: bool, samplers, targets) -> str:
    """Why ``record`` is chosen ("" when it is not)."""
    if samplers and record.get("sampler") not in samplers:
        return ""
    if targets and record.get("target") not in targets:
        return ""
    if contended:
        return str(record.get("contention_reason") or "") if record.get("contended") else ""
    return "chosen by sampler/target"


def _run_key(record) -> tuple[str, ...]:
    """A record's place under the study's ``runs/`` (target, dim, sampler, file): a manifest
    holds the path as the workflow wrote it, relative to Snakemake's working directory,
    which need not be this process's (resolving it here matched nothing from elsewhere)."""
    return Path(record).parts[-4:]


def plan(study_dir, contended=False, samplers=(), targets=()) -> Plan:
    """The runs of ``study_dir`` (``results/<study>``) to redo, and their batches' manifests."""
    study_dir = Path(study_dir)
    if not (contended or samplers or targets):
        raise ValueError("choose the runs to redo: --contended, --sampler or --target")
    if not (study_dir / "runs").is_dir():
        raise FileNotFoundError(f"{study_dir}/runs/ does not exist: is {study_dir} a study?")
    chosen = Plan()
    paths = sorted((study_dir / "runs").rglob("*.json"))
    # contended as in the runs table: with the runs whose clocks ran beside each other's
    records = policy.mark_shared_clocks([io.read_json(path) for path in paths])
    for path, record in zip(paths, records, strict=True):
        reason = _chosen(record, contended, set(samplers), set(targets))
        if reason:
            chosen.records.append(path)
            chosen.reasons[path] = reason
    names = {_run_key(p) for p in chosen.records}
    for manifest in sorted((study_dir / "batches").rglob("*.json")):
        listed = {_run_key(e["record"]) for e in io.read_json(manifest)["runs"]}
        if listed & names:
            chosen.manifests.append(manifest)
    return chosen


# The aggregate rule's output that, missing, makes Snakemake plan the removed batches again.
RUNS_TABLE = Path("tables") / "runs.parquet"


def apply(study_dir, chosen: Plan, now: dt.datetime | None = None) -> Path:
    """Move the chosen records (and the runs table made from them) under
    ``set_aside/<time>/`` and remove their manifests."""
    study_dir = Path(study_dir)
    stamp = (now or dt.datetime.now(dt.UTC)).strftime("%Y%m%dT%H%M%SZ")
    aside = study_dir / "set_aside" / stamp
    for path in chosen.records:
        target = aside / path.relative_to(study_dir)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(path, target)
    for manifest in chosen.manifests:
        manifest.unlink()
    table = study_dir / RUNS_TABLE
    if chosen.records and table.exists():
        (aside / RUNS_TABLE).parent.mkdir(parents=True, exist_ok=True)
        shutil.move(table, aside / RUNS_TABLE)
    return aside


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m essbench.redo", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("study_dir", help="the study's results folder, results/<study>")
    parser.add_argument("--contended", action="store_true", help="runs timed under contention")
    parser.add_argument("--sampler", action="append", default=[], help="only this sampler's")
    parser.add_argument("--target", action="append", default=[], help="only this target's")
    parser.add_argument("--apply", action="store_true", help="set them aside (default: list)")
    args = parser.parse_args(argv)
    try:
        chosen = plan(args.study_dir, args.contended, args.sampler, args.target)
    except (ValueError, FileNotFoundError) as err:
        print(f"essbench.redo: {err}", file=sys.stderr)
        return 2
    for path in chosen.records:
        print(f"{path}: {chosen.reasons[path]}")
    n, m = len(chosen.records), len(chosen.manifests)
    if not n:
        print("nothing to redo")
        return 0
    if not args.apply:
        print(f"{n} run(s) in {m} batch(es) would be redone: add --apply to set them aside")
        return 0
    aside = apply(args.study_dir, chosen)
    print(
        f"{n} run record(s) moved to {aside}/ and {m} batch manifest(s) removed: run the"
        " study's snakemake command again to redo them (the batches' other runs are kept)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
