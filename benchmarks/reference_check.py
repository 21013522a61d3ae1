"""A gated reference against posteriordb's own summary statistics (issue 16).

posteriordb ships no reference draws of ``mcycle_gp-accel_gp``, only each parameter's mean
and mean square with their Monte Carlo errors (vendored under
``data/posteriordb/reference_posteriors/summary_statistics``). essbench's reference rule
computes accel_gp's moments itself; this compares them with posteriordb's, for every
parameter essbench samples untransformed (its reference holds moments in the value space,
so a log-transformed parameter's constrained moments are not in it):

    .venv/bin/python benchmarks/reference_check.py results/shared/reference/accel_gp/d66/<key>.json

It prints z = (essbench - posteriordb) / (combined MCSE) per moment, the largest |z| and the
root mean square (about 1 when the two agree; the largest of n normal |z| is about
sqrt(2 log n)), and exits 1 when a |z| exceeds 4.5.
"""

import argparse
import json
import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))

from essbench import posteriordb, registry  # noqa: E402
from essbench.problem import build_problem  # noqa: E402

MAX_Z = 4.5


def untransformed(target: str, dim: int) -> list[tuple[int, str]]:
    """(index in the reference's flat vector, posteriordb's name) of every coordinate whose
    value variable is the parameter itself (no transform)."""
    problem = build_problem(target, dim)
    model = problem.model
    found = []
    for rv, name, shape, sl in zip(
        model.free_RVs, problem.names, problem.shapes, problem.slices, strict=True
    ):
        if model.rvs_to_transforms.get(rv) is not None:
            continue
        size = int(np.prod(shape)) if shape else 1
        labels = [name] if not shape else [f"{name}[{i + 1}]" for i in range(size)]
        found += list(zip(range(sl.start, sl.stop), labels, strict=True))
    return found


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("reference", type=Path, help="a reference rule's output (JSON)")
    args = parser.parse_args(argv)
    ref = json.loads(args.reference.read_text())
    posterior = registry.target(ref["target"]).POSTERIOR
    means = posteriordb.summary_statistic(posterior, "mean_value")
    squares = posteriordb.summary_statistic(posterior, "mean_squared_value")
    rows = []
    for i, label in untransformed(ref["target"], ref["dim"]):
        j = means["names"].index(label)
        m, v = ref["mean"][i], ref["var"][i]
        mcse_m, mcse_v = ref["mean_mcse"][i], ref["var_mcse"][i]
        z_mean = (m - means["mean_value"][j]) / np.hypot(mcse_m, means["mcse_mean"][j])
        square_mcse = np.hypot(mcse_v, 2 * abs(m) * mcse_m)
        z_square = (v + m * m - squares["mean_squared_value"][j]) / np.hypot(
            square_mcse, squares["mcse_mean"][j]
        )
        rows.append((label, z_mean, z_square))
    print(f"{ref['target']} d={ref['dim']}: {len(rows)} untransformed parameters")
    worst = 0.0
    for column, what in ((1, "mean"), (2, "mean square")):
        z = np.array([r[column] for r in rows])
        k = int(np.argmax(np.abs(z)))
        worst = max(worst, float(np.abs(z).max()))
        print(
            f"{what:>11}: largest |z| {abs(z[k]):.2f} ({rows[k][0]}),"
            f" root mean square {np.sqrt(np.mean(z**2)):.2f}"
        )
    print(f"agree (every |z| < {MAX_Z}): {worst < MAX_Z}")
    return 0 if worst < MAX_Z else 1


if __name__ == "__main__":
    sys.exit(main())
