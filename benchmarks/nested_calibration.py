"""Is Kish's ESS honest for the nested samplers, and their log Z errors? (issue 17)

For each nested sampler, ``--seeds`` runs on a target with known truth and evidence go
through essbench's own diagnostics (``pipeline.diagnose`` with the run's weights); then
``aggregate.calibration_table`` compares Kish's ESS with the empirical ESS from the
replicates' squared errors against the true means (ratio estimator ÷ empirical: 1 when
Kish's ESS is honest, > 1 when it promises more precision than the replicates deliver,
with its 95% interval). It also prints the log Z errors in units of each run's own error
estimate: their spread is 1 when ``stat_logz_err`` is honest.

    .venv/bin/python benchmarks/nested_calibration.py [--seeds 20] [--target gaussian_iid]
        [--dim 2] [--samplers dynesty nautilus]
"""

import argparse
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))

from essbench import aggregate, pipeline, registry  # noqa: E402
from essbench.problem import build_problem  # noqa: E402
from essbench.samplers import merged_options  # noqa: E402


def records(sampler: str, target: str, dim: int, options: dict, seeds) -> list[dict]:
    """The diagnosed record of one run per seed (the pipeline's fields that matter here)."""
    plugin = registry.sampler(sampler)
    problem = build_problem(target, dim)
    out = []
    for seed in seeds:
        run = plugin.run(problem, merged_options(plugin, options), seed)
        record = {
            "status": "ok",
            "sampler": sampler,
            "target": target,
            "dim": dim,
            "sampling_seconds": run.sampling_seconds,
            "ensemble": False,
            "logp_evals": run.logp_evals,
            **pipeline.namespaced("stat", run.stats),
        }
        out.append(pipeline.diagnose(record, run.draws, weights=run.weights))
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=20)
    parser.add_argument("--target", default="gaussian_iid")
    parser.add_argument("--dim", type=int, default=2)
    parser.add_argument("--samplers", nargs="+", default=["dynesty", "nautilus"])
    args = parser.parse_args()
    for sampler in args.samplers:
        start = time.perf_counter()
        options = registry.sampler(sampler).QUICK_OPTIONS
        recs = records(sampler, args.target, args.dim, options, range(args.seeds))
        cal = aggregate.calibration_table(recs).iloc[0]
        z = np.array([r["stat_logz_z"] for r in recs])
        print(
            f"{sampler} {options} on {args.target} d={args.dim}, {args.seeds} seeds"
            f" ({time.perf_counter() - start:.0f} s):\n"
            f"  Kish ESS (harmonic mean) {cal.ess_estimator:.0f},"
            f" empirical {cal.ess_empirical:.0f},"
            f" ratio {cal.ratio:.2f} [{cal.ratio_lo:.2f}, {cal.ratio_hi:.2f}]\n"
            f"  log Z error / its estimate: mean {z.mean():+.2f}, sd {z.std(ddof=1):.2f};"
            f" error estimate median {np.median([r['stat_logz_err'] for r in recs]):.3f};"
            f" biased runs {sum(r['biased'] for r in recs)}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
