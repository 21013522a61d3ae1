"""Does a run's sampling time depend on where it runs in a batch? (issues 13 and 27)

For every shipped sampler (``benchmarks/configs/clocks.yaml``: every Markov-chain sampler on
the tutorial's 50-dimensional Gaussian, one chain, runs of 10 ms to seconds;
``clocks_nested.yaml``: dynesty and nautilus at d = 4), the same run (same settings, same
seed) is done

- first and third in one batch (one process, as the ``sample`` rule runs them; another seed
  runs second), and
- alone in a fresh process,

after one compile step has warmed the shared PyTensor cache, as in the pipeline. Batch and
fresh process alternate in which goes first. Prints the sampling seconds and the ratios
third / first, first / fresh and third / fresh (target 0.9 to 1.1; with ``--repeats``, the
median), the batch's throw-away run (``prime_s``: paid before the first clock, see
``essbench.clock.prime``), and whether the three runs drew the same draws (they must).

    .venv/bin/python benchmarks/batch_position.py [--repeats 3] [--config FILE ...]
        [--sampler NAME ...] [--scale K]

``--config`` (repeatable) replaces the two clock configs; ``--scale K`` runs every sampler
K times as long (its length option, e.g. emcee's ``steps``), ``--sampler`` keeps only the
named ones.
"""

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

import pandas as pd
import yaml

REPO = Path(__file__).resolve().parents[1]
CLOCK_CONFIGS = ("clocks.yaml", "clocks_nested.yaml")
sys.path.insert(0, str(REPO / "src"))


def child(spec_path: str) -> None:
    """One process: the runs of ``spec`` as one batch (or the compile step)."""
    spec = json.loads(Path(spec_path).read_text())
    from essbench.runtime import pin_threads, set_compiledir

    pin_threads(spec["threads"])
    set_compiledir(spec["compiledir"])
    from essbench import pipeline

    if spec.get("compile"):
        s = spec["compile"]
        pipeline.compile_model(s["target"], s["dim"], {}, s["backend"], spec["out"])
        return
    pipeline.run_batch(
        spec["runs"],
        spec["out"],
        threads=spec["threads"],
        diagnose_threads=1,
        log_path="-",
        keep_draws=False,
    )


def _spawn(spec: dict, work: Path, name: str) -> None:
    path = work / f"{name}.spec.json"
    path.write_text(json.dumps(spec))
    with open(work / f"{name}.log", "w") as log:  # PyMC's chatter, kept out of the table
        subprocess.run(
            [sys.executable, __file__, "--child", str(path)], check=True, stdout=log, stderr=log
        )


def _study_rows(study: dict, args, work: Path) -> list[dict]:
    """The position rows of every sampler of ``study`` on its first target and dim."""
    from essbench import config as ebconfig
    from essbench import registry

    for name in study["samplers"]:
        key = registry.sampler(name).LENGTH_OPTION
        length = int(ebconfig.sampler_options(study, name)[key])
        study["samplers"][name] = {**(study["samplers"][name] or {}), key: length * args.scale}
    target = next(iter(study["targets"]))
    dim = ebconfig.target_dims(study, target)[0]
    compiledir = str(work / "pytensor")
    _spawn(
        {
            "compile": {"target": target, "dim": dim, "backend": study["backend"]},
            "out": str(work / f"compile-{study['study']}.json"),
            "threads": 1,
            "compiledir": compiledir,
        },
        work,
        f"compile-{study['study']}",
    )
    rows = []
    for repeat in range(args.repeats):
        for sampler in study["samplers"]:
            module = registry.sampler(sampler)
            threads = module.threads(ebconfig.sampler_options(study, sampler))
            same = ebconfig.run_settings(study, sampler, target, dim, 0)
            other = ebconfig.run_settings(study, sampler, target, dim, 1)
            tag = f"{sampler}-r{repeat}"
            batch = {
                "runs": [
                    {"settings": s, "record": str(work / f"{tag}-b{i}.json"), "draws": None}
                    for i, s in enumerate((same, other, same))
                ],
                "out": str(work / f"{tag}-batch.json"),
                "threads": threads,
                "compiledir": compiledir,
            }
            fresh = {
                "runs": [{"settings": same, "record": str(work / f"{tag}-f.json"), "draws": None}],
                "out": str(work / f"{tag}-fresh.json"),
                "threads": threads,
                "compiledir": compiledir,
            }
            order = [("batch", batch), ("fresh", fresh)]
            for name, spec in order if repeat % 2 == 0 else order[::-1]:
                _spawn(spec, work, f"{tag}-{name}")
            first, _, third = (
                json.loads((work / f"{tag}-b{i}.json").read_text()) for i in range(3)
            )
            alone = json.loads((work / f"{tag}-f.json").read_text())
            # The same seed must draw the same draws wherever the run sits: a sampler whose
            # draws depend on what ran before it in the process is reported, not hidden.
            same = first["draws_sha256"] == third["draws_sha256"] == alone["draws_sha256"]
            rows.append(
                {
                    "repeat": repeat,
                    "sampler": sampler,
                    "first_s": first["sampling_seconds"],
                    "third_s": third["sampling_seconds"],
                    "fresh_s": alone["sampling_seconds"],
                    "third/first": third["sampling_seconds"] / first["sampling_seconds"],
                    "first/fresh": first["sampling_seconds"] / alone["sampling_seconds"],
                    "third/fresh": third["sampling_seconds"] / alone["sampling_seconds"],
                    "compile_first_s": first["compile_seconds"],
                    "compile_third_s": third["compile_seconds"],
                    "prime_s": first.get("batch_prime_seconds", 0.0),
                    "same_draws": same,
                }
            )
    return rows


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument(
        "--config",
        action="append",
        help="a study config whose first target and dim every sampler of it runs on"
        " (repeatable; default: benchmarks/configs/clocks.yaml and clocks_nested.yaml)",
    )
    parser.add_argument(
        "--sampler", action="append", help="only this sampler of the config (repeatable)"
    )
    parser.add_argument(
        "--scale",
        type=int,
        default=1,
        help="multiply each sampler's run length (its LENGTH_OPTION) by this: short runs'"
        " ratios are noise (emcee_vectorized's 2 s runs at 1)",
    )
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        child(args.child)
        return

    from essbench import config as ebconfig
    from essbench import registry

    if args.scale < 1:
        parser.error("--scale must be an integer >= 1")
    configs = args.config or [str(REPO / "benchmarks" / "configs" / f) for f in CLOCK_CONFIGS]
    studies = []
    for path in configs:
        raw = yaml.safe_load(Path(path).read_text())
        if args.sampler:
            raw["samplers"] = {k: v for k, v in raw["samplers"].items() if k in args.sampler}
            raw.pop("published", None)  # the tutorial's costs name samplers left out here
            if not raw["samplers"]:
                continue
        studies.append(ebconfig.validate(raw))
    found = {name for study in studies for name in study["samplers"]}
    unknown = set(args.sampler or ()) - found
    if unknown:
        parser.error(f"not a sampler of {', '.join(configs)}: {', '.join(sorted(unknown))}")
    work = Path(tempfile.mkdtemp(prefix="essbench-position-"))
    rows = []
    for study in studies:
        rows += _study_rows(study, args, work)
    table = pd.DataFrame(rows)
    with pd.option_context("display.width", 160, "display.max_columns", 20):
        print(table.round(3).to_string(index=False))
    for sampler, group in table.groupby("sampler", sort=False):
        ratios = {k: group[k].median() for k in ("third/first", "first/fresh", "third/fresh")}
        verdict = all(0.9 <= v <= 1.1 for v in ratios.values())
        if registry.sampler(sampler).ORACLE:  # never costed: its clock is not held to it
            held = " (the oracle: ~1 ms of copying exact draws, never in a cost; not held)"
        else:
            held = " (within 0.9-1.1)" if verdict else " (OUTSIDE 0.9-1.1)"
        print(
            f"{sampler}: median "
            + ", ".join(f"{k} = {v:.3f}" for k, v in ratios.items())
            + held
            + ("" if group["same_draws"].all() else "; DRAWS DIFFER by position")
        )
    subprocess.run(["rm", "-rf", str(work)], check=False)


if __name__ == "__main__":
    main()
