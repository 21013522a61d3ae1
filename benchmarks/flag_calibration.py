"""How often does each flag fire on a perfect sampler? (issue 15: calibrated flags)

For every shipped target with exact draws (``sample_truth``) and every chain shape the
shipped configs use (``config.yaml`` and ``field.yaml``: each sampler's chains x draws, or
walkers x steps for ensembles, at each of the target's dims), ``--replicates`` runs of exact
independent draws go through essbench's own diagnostics (``pipeline.diagnose``). Prints
each flag's rate with its one-sided 95% Clopper-Pearson upper bound, against the documented
nominal rate (``policy.NOMINAL_RATE``); "over" marks a flag whose observed rate exceeds it,
"–" a flag that does not apply (chain/τ for non-ensembles; divergences on exact draws).

Ensemble shapes above ``--max-ensemble-dim`` (default 16) are left out unless raised: their
diagnostics (autocorrelation times of 2.5 d walkers) take seconds per replicate.

The full table takes hours of one core (an ensemble cell at d = 16 is about a second per
replicate). ``--out FILE`` keeps each finished cell's counts there (tab-separated); a rerun
with the same file and replicate count prints the kept cells and computes only the others,
so a stopped run loses no finished cell. ``--shard K/N`` computes every N-th cell from the
K-th (N processes with one ``--out`` file share the cores); a last run without it prints
the whole table from the file; each process rereads the file before a cell, so a helper
started later with ``--reverse`` (last cell first) takes a busy shard's cells from the
other end. ``--kept-only`` prints the file's cells and computes none
(a cell not in it is listed as not run). ``benchmarks/measured/flag_calibration.tsv`` holds
the measured table (every cell at 1,000 replicates).

    .venv/bin/python benchmarks/flag_calibration.py [--replicates 1000] [--configs ...]
        [--out flag_calibration.tsv] [--shard K/N] [--kept-only] [--targets ...]
"""

import argparse
import csv
import sys
import time
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))

from essbench import calibration, policy, registry  # noqa: E402
from essbench import config as ebconfig  # noqa: E402


def shapes(configs, max_ensemble_dim: int):
    """(target, dim, options, shape, ensemble) cells of the configs, each once."""
    seen = {}
    for path in configs:
        study = ebconfig.validate(yaml.safe_load(Path(path).read_text()))
        for target in study["targets"]:
            plugin = registry.target(target)
            if getattr(plugin.module, "sample_truth", None) is None:
                continue
            options = ebconfig.target_options(study, target)
            for dim in ebconfig.target_dims(study, target):
                for sampler in study["samplers"]:
                    module = registry.sampler(sampler)
                    if module.ORACLE or module.TEST_ONLY:
                        continue
                    if not (module.ENSEMBLE or "chains" in module.OPTIONS):
                        continue  # weighted draws (nested samplers): no chain shape
                    opts = ebconfig.sampler_options(study, sampler)
                    if module.ENSEMBLE:
                        if dim > max_ensemble_dim:
                            continue
                        shape = (module.walkers(dim, opts), int(opts[module.LENGTH_OPTION]))
                    else:
                        shape = (int(opts["chains"]), int(opts[module.LENGTH_OPTION]))
                    key = (target, dim, repr(sorted(options.items())), shape, module.ENSEMBLE)
                    seen.setdefault(key, (target, dim, options, shape, module.ENSEMBLE))
    return list(seen.values())


def cell_key(target, dim, options, label) -> str:
    """One cell's name in ``--out``'s file."""
    return f"{target}|{dim}|{sorted(options.items())!r}|{label}"


def kept_cells(path: Path | None, replicates: int, flags) -> dict:
    """Cells already in ``path`` at this replicate count: key -> (fired per flag, seconds)."""
    if path is None or not path.exists():
        return {}
    kept = {}
    with path.open(newline="") as handle:
        for row in csv.DictReader(handle, delimiter="\t"):
            if int(row["replicates"]) != replicates:
                continue
            fired = {f: None if row[f] == "" else int(row[f]) for f in flags}
            kept[row["cell"]] = (fired, float(row["seconds"]))
    return kept


def keep_cell(path: Path | None, key: str, replicates: int, fired: dict, seconds: float, flags):
    """Append one finished cell to ``path`` (a header first if the file is new)."""
    if path is None:
        return
    new = not path.exists()
    with path.open("a", newline="") as handle:
        writer = csv.writer(handle, delimiter="\t")
        if new:
            writer.writerow(["cell", "replicates", *flags, "seconds"])
        counts = ["" if fired[f] is None else fired[f] for f in flags]
        writer.writerow([key, replicates, *counts, f"{seconds:.1f}"])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--replicates", type=int, default=1000)
    parser.add_argument(
        "--configs",
        nargs="+",
        default=[str(REPO / "config" / "config.yaml"), str(REPO / "config" / "field.yaml")],
    )
    parser.add_argument("--max-ensemble-dim", type=int, default=16)
    parser.add_argument("--targets", nargs="*", help="only these targets (default: all)")
    parser.add_argument("--out", type=Path, help="keep finished cells here; a rerun skips them")
    parser.add_argument("--shard", default="0/1", help="K/N: compute cells K, K+N, K+2N, ...")
    parser.add_argument("--kept-only", action="store_true", help="print --out's cells only")
    parser.add_argument(
        "--reverse", action="store_true", help="last cell first (a helper for a busy shard)"
    )
    args = parser.parse_args()
    shard, shards = (int(part) for part in args.shard.split("/"))
    if not 0 <= shard < shards:
        parser.error(f"--shard {args.shard}: K/N needs 0 <= K < N")
    flags = list(policy.FLAGS)
    kept = kept_cells(args.out, args.replicates, flags)
    print(f"nominal rate per flag and run: {policy.NOMINAL_RATE:.1%}; {args.replicates} replicates")
    head = f"{'target':17s} {'d':>3s} {'shape':>11s} " + " ".join(f"{f:>22s}" for f in flags)
    print(head)
    worst, missing = 0.0, 0
    cells = shapes(args.configs, args.max_ensemble_dim)
    order = list(enumerate(cells))
    for index, (target, dim, options, shape, ensemble) in order[::-1] if args.reverse else order:
        label = f"{shape[0]}{'w' if ensemble else 'c'}x{shape[1]}"
        key = cell_key(target, dim, options, label)
        if args.targets and target not in args.targets:
            continue
        if index % shards != shard and key not in kept:
            continue
        if args.kept_only and key not in kept:
            missing += 1
            print(f"{target:17s} {dim:3d} {label:>11s}  not run")
            continue
        if key not in kept:
            kept = kept_cells(args.out, args.replicates, flags)  # another process's cells
        if key in kept:
            fired, seconds = kept[key]
            note = " (kept)"
        else:
            start = time.perf_counter()
            fired = calibration.rates(target, dim, options, shape, args.replicates, 0, ensemble)
            seconds = time.perf_counter() - start
            keep_cell(args.out, key, args.replicates, fired, seconds, flags)
            note = ""
        row = []
        for flag in flags:
            if fired[flag] is None:
                row.append(f"{'–':>22s}")
                continue
            rate = fired[flag] / args.replicates
            bound = calibration.upper_bound(fired[flag], args.replicates)
            worst = max(worst, rate)
            mark = " over" if rate > policy.NOMINAL_RATE else ""
            row.append(f"{f'{rate:.3f} (≤{bound:.3f}){mark}':>22s}")
        line = f"{target:17s} {dim:3d} {label:>11s} " + " ".join(row)
        print(line + f"  {seconds:.0f} s{note}")
        sys.stdout.flush()
    print(f"largest observed rate: {worst:.3f} (nominal {policy.NOMINAL_RATE:.3f})")
    if missing:
        print(f"{missing} of {len(cells)} cells not run")
    return 0 if worst <= policy.NOMINAL_RATE else 1


if __name__ == "__main__":
    sys.exit(main())
