"""The bias test in the model's own terms (issue 32 item 4): how often it fires on exact
draws, and how often it catches a broken run, on the shipped posteriors whose samplers move
in another space than the model's (``tau`` sampled as ``tau_log__``).

For each posteriordb target with a transformed free variable, posteriordb's reference draws
(independent draws of the posterior) are split at random, ``--replicates`` times: a run of
``--shape`` (chains x draws) and, from the rest, the truth (``quantities.truth_from_values``,
the same construction as the pipeline's truth from draws: moments, their MCSEs and the
quantiles). The run goes through ``quantities.bias_against``, the test every run's record
gets (``pipeline.diagnose``), as it is and with each failure injected:

- ``exact``: the run as drawn; the rate is the false-positive rate, nominal
  ``policy.BIAS_FAMILY_ALPHA`` (Bonferroni over the family: at most that);
- ``shift_0.5sd``: one element, chosen at random in each replicate, shifted by half its
  posterior SD (in the model's terms);
- ``stuck_copy``: the last of the run's chains replaced by its first chain moved 3 posterior
  SDs in the sampler's space (a chain stuck away from the mode), then mapped into the
  model's terms.

Prints per target and case the rate flagged ``biased`` with its 95% Clopper-Pearson interval
and the median largest error in posterior SDs. ``--out FILE`` writes the table (tab-separated);
``benchmarks/measured/model_bias_calibration.tsv`` holds the measured one.

    .venv/bin/python benchmarks/model_bias_calibration.py [--replicates 500]
        [--shape 2x1000] [--targets ...] [--out FILE]
"""

import argparse
import csv
import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))

from essbench import quantities, registry  # noqa: E402
from essbench.problem import build_problem  # noqa: E402
from essbench.targets import _posteriordb  # noqa: E402

CASES = ("exact", "shift_0.5sd", "stuck_copy")


def transformed_posteriors() -> list[str]:
    """The posteriordb targets with a free variable sampled in another space."""
    found = []
    for name in sorted(registry.targets()):
        plugin = registry.target(name)
        if plugin.TRUTH != "posteriordb":
            continue
        problem = build_problem(name, plugin.MIN_DIM or 1, {}, "numba")
        if quantities.transformed_variables(problem.model):
            found.append(name)
    return found


def clopper_pearson(k: int, n: int) -> tuple[float, float]:
    from scipy.stats import beta

    lo = beta.ppf(0.025, k, n - k + 1) if k else 0.0
    hi = beta.ppf(0.975, k + 1, n - k) if k < n else 1.0
    return float(lo), float(hi)


def cell(name: str, replicates: int, chains: int, draws: int, seed: int) -> list[dict]:
    plugin = registry.target(name)
    dim = plugin.MIN_DIM or 1
    problem = build_problem(name, dim, {}, "numba")
    names = [rv.name for rv in problem.model.free_RVs]
    chosen = quantities.elements(names, quantities.variable_shapes(problem.model, names))
    value = _posteriordb.value_space_reference(plugin.POSTERIOR, name, dim)
    value = value.reshape(-1, value.shape[-1])
    model = quantities.values(problem, value[None], chosen)[0]
    value_sd = value.std(axis=0)
    rng = np.random.default_rng(seed)
    n_run = chains * draws
    counts = {case: [] for case in CASES}
    for _ in range(replicates):
        order = rng.permutation(len(value))
        run, rest = order[:n_run], order[n_run:]
        truth = quantities.truth_from_values(model[rest][None], "split")
        x = model[run].reshape(chains, draws, -1)
        sd = np.sqrt(truth.var)
        shifted = x.copy()
        j = rng.integers(x.shape[2])
        shifted[:, :, j] += 0.5 * sd[j]
        stuck = value[run].reshape(chains, draws, -1).copy()
        stuck[-1] = stuck[0] + 3 * value_sd
        stuck = quantities.values(problem, stuck, chosen)
        for case, draws_ in (("exact", x), ("shift_0.5sd", shifted), ("stuck_copy", stuck)):
            counts[case].append(quantities.bias_against(draws_, chosen, truth))
    rows = []
    for case, found in counts.items():
        k = sum(bool(r["biased"]) for r in found)
        lo, hi = clopper_pearson(k, len(found))
        rows.append(
            {
                "target": name,
                "elements": len(chosen),
                "transformed": ", ".join(quantities.transformed_variables(problem.model)),
                "case": case,
                "shape": f"{chains}x{draws}",
                "replicates": len(found),
                "biased": k,
                "rate": k / len(found),
                "rate_lo95": lo,
                "rate_hi95": hi,
                "error_sd_median": float(np.median([r["error_sd_max"] for r in found])),
            }
        )
    return rows


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--replicates", type=int, default=500)
    parser.add_argument("--shape", default="2x1000", help="the run's chains x draws")
    parser.add_argument("--targets", nargs="*", help="default: every transformed posterior")
    parser.add_argument("--seed", type=int, default=32)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args(argv)
    chains, draws = (int(n) for n in args.shape.split("x"))
    rows = []
    print("target\tcase\tshape\tbiased/replicates\trate [95% CI]\terror_sd_median", flush=True)
    for name in args.targets or transformed_posteriors():
        for row in cell(name, args.replicates, chains, draws, args.seed):
            rows.append(row)
            print(
                f"{row['target']}\t{row['case']}\t{row['shape']}\t{row['biased']}/"
                f"{row['replicates']}\t{row['rate']:.3f} [{row['rate_lo95']:.3f},"
                f" {row['rate_hi95']:.3f}]\t{row['error_sd_median']:.3f}",
                flush=True,
            )
    if args.out:
        with open(args.out, "w", newline="") as f:
            writer = csv.DictWriter(f, fieldnames=list(rows[0]), delimiter="\t")
            writer.writeheader()
            writer.writerows(rows)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
