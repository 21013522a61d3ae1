"""Does the pipeline measure what each library's own use measures? (issue 27: fair clocks)

For every sampler family (PyMC's NUTS, Metropolis and DEMetropolisZ, nutpie, Stan, NumPyro,
BlackJAX, emcee, zeus, dynesty, nautilus), on the clock configs' cells
(``benchmarks/configs/clocks.yaml``: N(0, I_50), one chain; ``clocks_nested.yaml``: d = 4;
``clocks_logprob.yaml``: N(0, I_50) as a plain JAX ``log_prob``, for NumPyro and emcee),
alternating which goes first in each repeat:

- the pipeline: ``snakemake`` of both configs (replicate 0) in a temporary directory;
- the library as its documentation shows: ``benchmarks/fidelity_standalone.py``, one
  process per sampler.

Prints each sampler's ms per ESS both ways and the ratio pipeline / standalone (target 0.85
to 1.15; the median over ``--repeats``), with its two factors: sampling seconds (what the
pipeline's clock adds or leaves out) and ESS (the two draw different random streams).
The tutorial's own script is ``benchmarks/tutorial_fidelity.py``.

    .venv/bin/python benchmarks/fidelity.py [--repeats 3] [--sampler NAME ...]
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pandas as pd
import yaml

REPO = Path(__file__).resolve().parents[1]
CONFIGS = ("clocks.yaml", "clocks_nested.yaml", "clocks_logprob.yaml")
# A study's cells named apart from the PyMC-model ones (the same samplers run there).
CELL_SUFFIX = {"clocks_logprob": " (log_prob)"}
# Variants of a family already covered (emcee_vectorized is emcee) and the oracle.
LEFT_OUT = ("emcee_vectorized", "exact")


def _configs(work: Path, only) -> list[Path]:
    paths = []
    for name in CONFIGS:
        raw = yaml.safe_load((REPO / "benchmarks" / "configs" / name).read_text())
        raw["replicates"] = [0]
        raw["samplers"] = {
            k: v
            for k, v in raw["samplers"].items()
            if k not in LEFT_OUT and (not only or k in only)
        }
        for entry in raw["targets"].values():  # a user's file, beside the config
            if entry and "file" in entry:
                entry["file"] = str(REPO / "benchmarks" / "configs" / entry["file"])
        if raw["samplers"]:
            path = work / name
            path.write_text(yaml.safe_dump(raw))
            paths.append(path)
    return paths


def pipeline_costs(work: Path, configs: list[Path]) -> dict:
    env = dict(os.environ)
    env.pop("PYTENSOR_FLAGS", None)
    costs = {}
    for config in configs:
        study = yaml.safe_load(config.read_text())["study"]
        subprocess.run(["rm", "-rf", str(work / "results" / study)], check=True)
        subprocess.run(
            [str(Path(sys.executable).parent / "snakemake"), "--snakefile", str(REPO / "Snakefile")]
            + ["--configfile", str(config), "--cores", "1", "--quiet", "all"],
            cwd=work,
            check=True,
            capture_output=True,
            env=env,
        )
        runs = pd.read_parquet(work / "results" / study / "tables" / "runs.parquet")
        for r in runs.itertuples():
            ess = r.ess_kish if r.ess_basis == "kish" else r.ess_bulk_mean
            costs[r.sampler + CELL_SUFFIX.get(study, "")] = {
                "seconds": r.sampling_seconds,
                "ess": ess,
            }
    return costs


def standalone_costs(configs: list[Path], seed: int) -> dict:
    costs = {}
    script = REPO / "benchmarks" / "fidelity_standalone.py"
    for config in configs:
        raw = yaml.safe_load(config.read_text())
        for sampler in raw["samplers"]:
            out = subprocess.run(
                [sys.executable, str(script), "--sampler", sampler, "--config", str(config)]
                + ["--seed", str(seed)],
                check=True,
                capture_output=True,
                text=True,
            )
            cell = sampler + CELL_SUFFIX.get(raw["study"], "")
            costs[cell] = json.loads(out.stdout.strip().splitlines()[-1])
    return costs


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3, help="pipeline + standalone pairs")
    parser.add_argument("--sampler", action="append", help="only this sampler (repeatable)")
    args = parser.parse_args(argv)
    rows = []
    with tempfile.TemporaryDirectory(prefix="essbench-fidelity-") as tmp:
        work = Path(tmp)
        configs = _configs(work, args.sampler)
        if not configs:
            parser.error("no sampler of the clock configs is left to compare")
        pipeline_costs(work, configs)  # warm the compile caches (models, Stan programs)
        for rep in range(args.repeats):
            if rep % 2:  # alternate which goes first: a drift of the machine's speed cancels
                alone = standalone_costs(configs, rep)
            pipe = pipeline_costs(work, configs)
            if not rep % 2:
                alone = standalone_costs(configs, rep)
            for sampler, plain in alone.items():
                ours = pipe[sampler]
                ms = 1e3 * ours["seconds"] / ours["ess"]
                rows.append(
                    {
                        "repeat": rep,
                        "sampler": sampler,
                        "pipeline_ms_per_ess": ms,
                        "standalone_ms_per_ess": plain["ms_per_ess"],
                        "ratio": ms / plain["ms_per_ess"],
                        "seconds_ratio": ours["seconds"] / plain["seconds"],
                        "ess_ratio": ours["ess"] / plain["ess"],
                    }
                )
            print(f"repeat {rep} done", flush=True)
    df = pd.DataFrame(rows)
    with pd.option_context("display.width", 160):
        print(df.to_string(index=False, float_format=lambda x: f"{x:.4g}"))
    for sampler, group in df.groupby("sampler", sort=False):
        ratio = group["ratio"].median()
        ok = "within" if 0.85 <= ratio <= 1.15 else "OUTSIDE"
        print(
            f"{sampler}: pipeline / standalone = {ratio:.2f} ({ok} 0.85-1.15); seconds"
            f" {group['seconds_ratio'].median():.2f}, ESS {group['ess_ratio'].median():.2f}"
        )


if __name__ == "__main__":
    main()
