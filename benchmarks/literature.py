"""Our NUTS gradient counts beside the MCHMC papers' published ones (issue 31).

Runs the samplers of ``config/literature.yaml`` on every published case of
:data:`essbench.literature.PUBLISHED` (the 100-d log-spaced Gaussian at κ = 100 and 10⁵),
each run through essbench's own ``pipeline.sample`` and ``pipeline.diagnose`` (so the
numbers are the runs table's ``grads_to_bias_avg``), and prints one row per (case, sampler):
gradient calls until the median over chains of b²_avg stays below 0.01 (warm-up not
counted, as published), the published figure where the protocol is theirs (identity mass
matrix), and ours ÷ published (target: 0.75 to 1.25).

    .venv/bin/python benchmarks/literature.py [--chains N] [--cases 100,1e5] [--samplers a,b]

At κ = 10⁵ every NUTS step with the identity costs ~750 gradients (tree depth ~10): 128
chains × 4,000 steps is ~20 minutes of one core here, so that case runs ``--chains-large``
(32) chains unless ``--chains`` is given (the median over 32 chains estimates the same
quantity, with more noise). Runs in one process, one after the other.
"""

import argparse
import math
import sys
import time
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))

from essbench import config as study_config  # noqa: E402
from essbench import literature, pipeline, registry  # noqa: E402

LARGE_CONDITION = 1.0e4  # cases above it get --chains-large chains (CPU cost, see above)


def _published(case: dict, sampler: str) -> float | None:
    """The published NUTS figure, for a sampler that runs their protocol (identity mass)."""
    options = registry.sampler(sampler).DEFAULTS
    if options.get("mass_matrix") != "identity":
        return None
    return case["grads"]["NUTS"]


def run_case(cfg: dict, case: dict, sampler: str, chains: int | None) -> dict:
    cfg = {**cfg, "targets": {case["target"]: dict(case["options"])}}
    cfg["samplers"] = {**cfg["samplers"]}
    if chains:
        cfg["samplers"][sampler] = {**cfg["samplers"][sampler], "chains": chains}
    settings = study_config.run_settings(cfg, sampler, case["target"], case["dim"], 0)
    start = time.perf_counter()
    record, draws, _ = pipeline.sample(settings, 1, "-")
    record = pipeline.diagnose(record, draws, target_options=settings["target_options"])
    record["wall_seconds"] = time.perf_counter() - start
    return record


def table(rows: list[dict]) -> str:
    head = (
        "| κ | sampler | chains | tree size | step size | draws to b²<0.01 |"
        " grads_to_bias_avg | published | ours ÷ published | grads_to_bias_max | warm-up"
        " grads/chain | wall s |"
    )
    lines = [head, "|" + "---|" * (head.count("|") - 1)]
    for r in rows:
        pub = r["published"]
        ratio = r["grads_to_bias_avg"] / pub if pub else math.nan
        lines.append(
            f"| {r['condition']:g} | {r['sampler']} | {r['chains']} | {r['tree']:.1f} |"
            f" {r['step']:.3g} | {r['draws_to_bias_avg']:g} | {r['grads_to_bias_avg']:,.0f} |"
            f" {'—' if pub is None else f'{pub:,.0f}'} |"
            f" {'—' if pub is None else f'{ratio:.2f}'} | {r['grads_to_bias_max']:,.0f} |"
            f" {r['warm_grads']:,.0f} | {r['wall']:.0f} |"
        )
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--configfile", type=Path, default=REPO / "config" / "literature.yaml")
    parser.add_argument("--chains", type=int, help="chains of every run (default: the config's)")
    parser.add_argument("--chains-large", type=int, default=32, help="chains at κ > 1e4")
    parser.add_argument("--cases", default="", help="conditions to run, e.g. 100 (default: all)")
    parser.add_argument("--samplers", default="", help="samplers to run (default: the config's)")
    args = parser.parse_args(argv)
    cfg = study_config.validate(yaml.safe_load(args.configfile.read_text()))
    samplers = args.samplers.split(",") if args.samplers else list(cfg["samplers"])
    wanted = {float(c) for c in args.cases.split(",")} if args.cases else None
    rows = []
    for case in literature.PUBLISHED:
        condition = float(case["options"]["condition"])
        if wanted and condition not in wanted:
            continue
        chains = args.chains or (args.chains_large if condition > LARGE_CONDITION else None)
        for sampler in samplers:
            r = run_case(cfg, case, sampler, chains)
            if r["status"] != "ok":
                print(f"{sampler} at κ = {condition:g}: {r['reason']}", file=sys.stderr)
                continue
            n_chains, n_draws = r["n_chains"], r["n_draws"]
            draw_grads = r["stat_tree_size_mean"] * n_chains * n_draws
            rows.append(
                {
                    "condition": condition,
                    "sampler": sampler,
                    "chains": n_chains,
                    "tree": r["stat_tree_size_mean"],
                    "step": r["stat_step_size_mean"],
                    "draws_to_bias_avg": r["draws_to_bias_avg"],
                    "grads_to_bias_avg": r["grads_to_bias_avg"],
                    "grads_to_bias_max": r["grads_to_bias_max"],
                    "warm_grads": (r["grad_evals"] - draw_grads) / n_chains,
                    "published": _published(case, sampler),
                    "wall": r["wall_seconds"],
                }
            )
            print(table(rows[-1:]).splitlines()[-1], file=sys.stderr, flush=True)
    print(f"Published: {literature.PUBLISHED[0]['source']} (NUTS, {PROTOCOL}).")
    print(table(rows))
    return 0


PROTOCOL = literature.PUBLISHED[0]["protocol"]

if __name__ == "__main__":
    sys.exit(main())
