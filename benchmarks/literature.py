"""Our NUTS gradient counts beside the MCHMC papers' published ones (issue 31).

Runs, for every published case of :data:`essbench.literature.PUBLISHED`, the samplers of the
case's config (``config/literature.yaml``: the README's 100-d log-spaced Gaussian at κ = 100
and 10⁵, identity mass matrix; ``config/literature_mams.yaml``: the MAMS paper's banana at
d = 2 and funnel at d = 20, window adaptation), each run through essbench's own
``pipeline.sample`` and ``pipeline.diagnose`` (so the numbers are the runs table's
``grads_to_bias_avg``, the funnel's in its Gaussianised coordinates), and prints one row per
(case, sampler): gradient calls until the median over chains of b²_avg stays below 0.01
(warm-up not counted, as published), the published figure where the sampler runs the
published protocol (its ``mass_matrix`` is the case's), and ours ÷ published (target: 0.75
to 1.25); the same for b²_max where a figure for it is published.

    .venv/bin/python benchmarks/literature.py [--chains N] [--cases 100,1e5,banana,funnel]
        [--samplers a,b] [--configfile FILE]

``--cases`` takes case names (``logspaced_k100``, ``logspaced_k1e5``, ``banana``, ``funnel``)
or, for the Gaussian, its condition number. At κ = 10⁵ every NUTS step with the identity
costs ~750 gradients (tree depth ~10): 128 chains × 4,000 steps is ~20 minutes of one core
here, so that case runs ``--chains-large`` (32) chains unless ``--chains`` is given (the
median over 32 chains estimates the same quantity, with more noise). Runs in one process,
one after the other.
"""

import argparse
import itertools
import math
import statistics
import sys
import time
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))

from essbench import config as study_config  # noqa: E402
from essbench import literature, pipeline  # noqa: E402

LARGE_CONDITION = 1.0e4  # cases above it get --chains-large chains (CPU cost, see above)


def _published(case: dict, options: dict, key: str = "grads") -> float | None:
    """The published NUTS figure (``grads``: b²_avg, ``grads_max``: b²_max), for a sampler
    that runs the published protocol: its mass matrix is the case's (a sampler without a
    ``mass_matrix`` option adapts a diagonal one)."""
    if options.get("mass_matrix", "diagonal") != case["mass_matrix"] or key not in case:
        return None
    return case[key]["NUTS"]


def _selected(case: dict, wanted: set[str] | None) -> bool:
    if not wanted:
        return True
    if case["case"] in wanted:
        return True
    condition = case["options"].get("condition")
    numbers = {float(t) for t in wanted if t.replace(".", "", 1).replace("e", "", 1).isdigit()}
    return condition is not None and float(condition) in numbers


def run_case(cfg: dict, case: dict, sampler: str, chains: int | None, replicate: int = 0) -> dict:
    cfg = {**cfg, "targets": {case["target"]: dict(case["options"])}}
    cfg["samplers"] = {**cfg["samplers"]}
    if chains:
        cfg["samplers"][sampler] = {**cfg["samplers"][sampler], "chains": chains}
    settings = study_config.run_settings(cfg, sampler, case["target"], case["dim"], replicate)
    start = time.perf_counter()
    record, draws, _ = pipeline.sample(settings, 1, "-")
    record = pipeline.diagnose(record, draws, target_options=settings["target_options"])
    record["wall_seconds"] = time.perf_counter() - start
    record["sampler_options"] = settings["sampler_options"]
    return record


def _grads(value) -> str:
    return "—" if value is None else ("not reached" if math.isinf(value) else f"{value:,.0f}")


def _ratio(ours: float, published: float | None) -> str:
    if published is None:
        return "—"
    if math.isinf(published) or math.isinf(ours):
        return "—"
    return f"{ours / published:.2f}"


def table(rows: list[dict]) -> str:
    head = (
        "| case | sampler | replicate | chains | tree size | tree, chain median | L |"
        " step size | draws to b²<0.01 |"
        " grads_to_bias_avg | published | ours ÷ published | grads_to_bias_max |"
        " published max | warm-up grads/chain | wall s |"
    )
    lines = [head, "|" + "---|" * (head.count("|") - 1)]
    for r in rows:
        lines.append(
            f"| {r['case']} | {r['sampler']} | {r['replicate']} | {r['chains']} | {r['tree']:.1f} |"
            f" {r['tree_median']:.1f} | {r['L']:.3g} |"
            f" {r['step']:.3g} | {r['draws_to_bias_avg']:g} | {_grads(r['grads_to_bias_avg'])} |"
            f" {_grads(r['published'])} | {_ratio(r['grads_to_bias_avg'], r['published'])} |"
            f" {_grads(r['grads_to_bias_max'])} | {_grads(r['published_max'])} |"
            f" {r['warm_grads']:,.0f} | {r['wall']:.0f} |"
        )
    return "\n".join(lines)


def spread(rows: list[dict]) -> str:
    """Per (case, sampler): the median of grads_to_bias_avg over its replicates, their
    range, and the median's ratio to the published figure."""
    head = (
        "| case | sampler | replicates | median grads_to_bias_avg | range | published |"
        " median ÷ published |"
    )
    lines = [head, "|" + "---|" * (head.count("|") - 1)]
    pairs: dict = {}
    for r in rows:
        pairs.setdefault((r["case"], r["sampler"]), []).append(r)
    for (case, sampler), group in pairs.items():
        values = sorted(r["grads_to_bias_avg"] for r in group)
        median = statistics.median(values)
        published = group[0]["published"]
        lines.append(
            f"| {case} | {sampler} | {len(values)} | {_grads(median)} |"
            f" {_grads(values[0])}–{_grads(values[-1])} | {_grads(published)} |"
            f" {_ratio(median, published)} |"
        )
    return "\n".join(lines)


def _config(path: Path, cache: dict) -> dict:
    if path not in cache:
        cache[path] = study_config.validate(yaml.safe_load(path.read_text()))
    return cache[path]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--configfile", type=Path, help="config of every case (default: each case's own)"
    )
    parser.add_argument("--chains", type=int, help="chains of every run (default: the config's)")
    parser.add_argument("--chains-large", type=int, default=32, help="chains at κ > 1e4")
    parser.add_argument("--cases", default="", help="cases to run, e.g. 100,funnel (default: all)")
    parser.add_argument("--samplers", default="", help="samplers to run (default: the config's)")
    parser.add_argument(
        "--replicates",
        type=int,
        default=1,
        help="runs per (case, sampler), each with its own seed (the study's replicates 0..N-1);"
        " with more than one, a last table gives each pair's median and range",
    )
    args = parser.parse_args(argv)
    wanted = set(args.cases.split(",")) if args.cases else None
    cases = [case for case in literature.PUBLISHED if _selected(case, wanted)]
    if not cases:
        names = ", ".join(case["case"] for case in literature.PUBLISHED)
        parser.error(f"--cases {args.cases}: no such case (cases: {names})")
    configs: dict = {}
    rows = []
    for case in cases:
        cfg = _config(args.configfile or REPO / "config" / case["config"], configs)
        condition = float(case["options"].get("condition", 0.0))
        chains = args.chains or (args.chains_large if condition > LARGE_CONDITION else None)
        samplers = args.samplers.split(",") if args.samplers else list(cfg["samplers"])
        for sampler, replicate in itertools.product(samplers, range(args.replicates)):
            r = run_case(cfg, case, sampler, chains, replicate)
            if r["status"] != "ok":
                print(f"{sampler} on {case['case']}: {r['reason']}", file=sys.stderr)
                continue
            n_chains, n_draws = r["n_chains"], r["n_draws"]
            draw_grads = r["stat_tree_size_mean"] * n_chains * n_draws
            rows.append(
                {
                    "case": case["case"],
                    "sampler": sampler,
                    "replicate": replicate,
                    "chains": n_chains,
                    "tree": r["stat_tree_size_mean"],
                    "tree_median": r.get("stat_tree_size_chain_median", math.nan),
                    "L": r.get("stat_trajectory_length_mean", math.nan),
                    "step": r.get("stat_step_size_mean", math.nan),
                    "draws_to_bias_avg": r["draws_to_bias_avg"],
                    "grads_to_bias_avg": r["grads_to_bias_avg"],
                    "grads_to_bias_max": r["grads_to_bias_max"],
                    "warm_grads": (r["grad_evals"] - draw_grads) / n_chains,
                    "published": _published(case, r["sampler_options"]),
                    "published_max": _published(case, r["sampler_options"], "grads_max"),
                    "wall": r["wall_seconds"],
                }
            )
            print(table(rows[-1:]).splitlines()[-1], file=sys.stderr, flush=True)
    for case in cases:
        detail = ", ".join(f"{k} {v:.4g}" for k, v in case.get("detail", {}).items())
        print(
            f"Published ({case['case']}): {case['source']} (NUTS, {case['protocol']})"
            + (f"; {detail}" if detail else "")
            + "."
        )
    print(table(rows))
    if args.replicates > 1:
        print()
        print(spread(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
