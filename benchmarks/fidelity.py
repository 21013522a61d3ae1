"""Does the pipeline measure what each library's own use measures? (issue 27: fair clocks)

For every sampler family (PyMC's NUTS, Metropolis and DEMetropolisZ, nutpie, Stan, NumPyro,
BlackJAX, emcee, zeus, dynesty, nautilus), on the clock configs' cells
(``benchmarks/configs/clocks.yaml``: N(0, I_50), one chain; ``clocks_nested.yaml``: d = 4;
``clocks_logprob.yaml``: N(0, I_50) as a plain JAX ``log_prob``, for NumPyro and emcee),
alternating which goes first in each repeat:

- the pipeline: ``snakemake`` of both configs (replicate 0) in a temporary directory;
- the library as its documentation shows: ``benchmarks/fidelity_standalone.py``, one
  process per sampler.

Each repeat runs a new replicate both ways, the standalone with the pipeline run's seed (pystan,
seeded as essbench seeds it, then draws the very same chain). Prints each sampler's ms per ESS
both ways and the ratio pipeline / standalone, pooled over ``--repeats`` (total seconds ÷
total ESS each way; target 0.85 to 1.15) with a 95% bootstrap interval over the repeats,
and its two factors: sampling seconds (the median of the repeats' ratios: what the
pipeline's clock adds or leaves out) and ESS (pooled: every other library's two ways draw
their own random streams, and one chain's ESS scatters by ±30%, so it takes repeats to
average out).
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

import numpy as np
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


def _set_replicate(configs: list[Path], replicate: int) -> None:
    """Run the pipeline's cells at ``replicate`` (its own seed, as the standalone's)."""
    for path in configs:
        raw = yaml.safe_load(path.read_text())
        raw["replicates"] = [replicate]
        path.write_text(yaml.safe_dump(raw))


def pooled(group: pd.DataFrame, rng, n_boot: int = 2000) -> tuple[float, float, float]:
    """Pipeline ÷ standalone cost per ESS over a sampler's repeats (Σ seconds ÷ Σ ESS each
    way) and its 95% bootstrap interval, resampling repeats (each a pipeline-standalone
    pair)."""
    cols = ["pipeline_seconds", "pipeline_ess", "standalone_seconds", "standalone_ess"]
    values = group[cols].to_numpy(float)

    def ratio(v):
        s = v.sum(axis=-2)
        return (s[..., 0] / s[..., 1]) / (s[..., 2] / s[..., 3])

    idx = rng.integers(0, len(values), size=(n_boot, len(values)))
    lo, hi = np.quantile(ratio(values[idx]), [0.025, 0.975])
    return float(ratio(values)), float(lo), float(hi)


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


def run_seed(raw: dict, sampler: str, replicate: int) -> int:
    """The pipeline's seed of the sampler's run at ``replicate`` (the config's first cell):
    the standalone draws with it too, so that a library seeded as the pipeline seeds it
    (pystan's ``random_seed``) draws the same chain both ways, and its ESS factor is 1."""
    from essbench import config as ebconfig

    full = ebconfig.validate(dict(raw))
    target = next(iter(full["targets"]))
    dim = ebconfig.target_dims(full, target)[0]
    return int(ebconfig.run_settings(full, sampler, target, dim, replicate)["random_seed"])


def standalone_costs(configs: list[Path], replicate: int) -> dict:
    costs = {}
    script = REPO / "benchmarks" / "fidelity_standalone.py"
    for config in configs:
        raw = yaml.safe_load(config.read_text())
        for sampler in raw["samplers"]:
            seed = run_seed(raw, sampler, replicate)
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
            _set_replicate(configs, rep)
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
                        "pipeline_seconds": ours["seconds"],
                        "pipeline_ess": ours["ess"],
                        "standalone_seconds": plain["seconds"],
                        "standalone_ess": plain["ess"],
                    }
                )
            print(f"repeat {rep} done", flush=True)
    df = pd.DataFrame(rows)
    shown = ["repeat", "sampler", "pipeline_ms_per_ess", "standalone_ms_per_ess", "ratio"]
    with pd.option_context("display.width", 160):
        print(
            df[shown + ["seconds_ratio", "ess_ratio"]].to_string(
                index=False, float_format=lambda x: f"{x:.4g}"
            )
        )
    rng = np.random.default_rng(0)
    for sampler, group in df.groupby("sampler", sort=False):
        ratio, lo, hi = pooled(group, rng)
        ok = "within" if 0.85 <= ratio <= 1.15 else "OUTSIDE"
        ess = group["pipeline_ess"].sum() / group["standalone_ess"].sum()
        print(
            f"{sampler}: pipeline / standalone = {ratio:.2f} [{lo:.2f}, {hi:.2f}] ({ok}"
            f" 0.85-1.15); seconds {group['seconds_ratio'].median():.2f}, ESS {ess:.2f}"
            f" ({len(group)} repeats)"
        )


if __name__ == "__main__":
    main()
