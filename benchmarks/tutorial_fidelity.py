"""Does the pipeline measure what a plain script measures? (issue: seed fidelity)

Runs the tutorial protocol twice on this machine, one after the other (pipeline first in even
repeats, standalone first in odd ones): through the pipeline
(``snakemake --configfile config/tutorial.yaml`` in a temporary directory) and as the plain
script ``benchmarks/tutorial_standalone.py``; prints each sampler's ms per ESS and the ratio
pipeline ÷ standalone (target: 0.85 to 1.15; with ``--repeats``, the median), and that
ratio's two factors: sampling seconds (what the pipeline adds or removes, and the
machine's noise) and bulk ESS (the two use different random streams, so their draws
differ). Both give PyMC NUTS the ``cores`` of config/tutorial.yaml. About two minutes per
repeat on 2 cores.

    .venv/bin/python benchmarks/tutorial_fidelity.py [--repeats N]
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
BIN = Path(sys.executable).parent


def pipeline_costs(workdir: Path) -> dict[str, float]:
    subprocess.run(
        [
            str(BIN / "snakemake"),
            "--snakefile",
            str(REPO / "Snakefile"),
            "--configfile",
            str(REPO / "config" / "tutorial.yaml"),
            "--cores",
            "2",
            "--quiet",
            "all",
        ],
        cwd=workdir,
        check=True,
        capture_output=True,
    )
    runs = pd.read_parquet(workdir / "results" / "tutorial" / "tables" / "runs.parquet")
    return {
        r.sampler: {
            "ms_per_ess": 1e3 * r.cost_per_ess_mean,
            "seconds": r.sampling_seconds,
            "ess_bulk_mean": r.ess_bulk_mean,
        }
        for r in runs.itertuples()
    }


def tutorial_cores() -> int:
    """The ``cores`` config/tutorial.yaml gives PyMC NUTS (the standalone script uses them)."""
    config = yaml.safe_load((REPO / "config" / "tutorial.yaml").read_text())
    return int(config["samplers"]["pymc_nuts"]["cores"])


def standalone_costs(seed: int, cores: int) -> dict[str, float]:
    script = REPO / "benchmarks" / "tutorial_standalone.py"
    out = subprocess.run(
        [sys.executable, str(script), "--seed", str(seed), "--cores", str(cores)],
        check=True,
        capture_output=True,
        text=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=1, help="pipeline + standalone pairs")
    args = parser.parse_args()
    cores = tutorial_cores()
    rows = []
    for rep in range(args.repeats):
        # alternate which goes first, so that a drift in the machine's speed cancels
        if rep % 2:
            alone = standalone_costs(rep, cores)
        with tempfile.TemporaryDirectory() as tmp:
            pipe = pipeline_costs(Path(tmp))
        if not rep % 2:
            alone = standalone_costs(rep, cores)
        for sampler, plain in alone.items():
            ours = pipe[sampler]
            rows.append(
                {
                    "repeat": rep,
                    "sampler": sampler,
                    "pipeline_ms_per_ess": ours["ms_per_ess"],
                    "standalone_ms_per_ess": plain["ms_per_ess"],
                    "ratio": ours["ms_per_ess"] / plain["ms_per_ess"],
                    "seconds_ratio": ours["seconds"] / plain["seconds"],
                    "ess_ratio": ours["ess_bulk_mean"] / plain["ess_bulk_mean"],
                }
            )
    df = pd.DataFrame(rows)
    print(df.to_string(index=False, float_format=lambda x: f"{x:.3f}"))
    med = df.groupby("sampler")["ratio"].median()
    for sampler, ratio in med.items():
        ok = "within" if 0.85 <= ratio <= 1.15 else "OUTSIDE"
        print(f"{sampler}: pipeline / standalone = {ratio:.2f} ({ok} 0.85-1.15)")


if __name__ == "__main__":
    main()
