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

    .venv/bin/python benchmarks/flag_calibration.py [--replicates 1000] [--configs ...]
"""

import argparse
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


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--replicates", type=int, default=1000)
    parser.add_argument(
        "--configs",
        nargs="+",
        default=[str(REPO / "config" / "config.yaml"), str(REPO / "config" / "field.yaml")],
    )
    parser.add_argument("--max-ensemble-dim", type=int, default=16)
    args = parser.parse_args()
    flags = list(policy.FLAGS)
    print(f"nominal rate per flag and run: {policy.NOMINAL_RATE:.1%}; {args.replicates} replicates")
    head = f"{'target':17s} {'d':>3s} {'shape':>11s} " + " ".join(f"{f:>22s}" for f in flags)
    print(head)
    worst = 0.0
    for target, dim, options, shape, ensemble in shapes(args.configs, args.max_ensemble_dim):
        start = time.perf_counter()
        fired = calibration.rates(target, dim, options, shape, args.replicates, 0, ensemble)
        cells = []
        for flag in flags:
            if fired[flag] is None:
                cells.append(f"{'–':>22s}")
                continue
            rate = fired[flag] / args.replicates
            bound = calibration.upper_bound(fired[flag], args.replicates)
            worst = max(worst, rate)
            mark = " over" if rate > policy.NOMINAL_RATE else ""
            cells.append(f"{f'{rate:.3f} (≤{bound:.3f}){mark}':>22s}")
        kind = "w" if ensemble else "c"
        label = f"{shape[0]}{kind}x{shape[1]}"
        seconds = time.perf_counter() - start
        print(f"{target:17s} {dim:3d} {label:>11s} " + " ".join(cells) + f"  {seconds:.0f} s")
        sys.stdout.flush()
    print(f"largest observed rate: {worst:.3f} (nominal {policy.NOMINAL_RATE:.3f})")
    return 0 if worst <= policy.NOMINAL_RATE else 1


if __name__ == "__main__":
    sys.exit(main())
