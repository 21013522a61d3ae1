"""What do the diagnostics cost next to the sampling they judge? (issue: diagnostics cost)

Runs the tutorial's emcee protocol (124 walkers x (1000 + 5000) steps at d = 50) and NUTS at
d = 50 (2 chains x (1000 + 1000)) in this process, then times, on the same draws:
essbench's diagnostics (everything the diagnose rule computes) with 1 and 2 threads, and
the naive ``az.summary`` the tutorial used. Prints each as a ratio to the sampling time
(the median of ``--repeats`` timings); the goal is at most 0.10 with the threads the
diagnose rule gives that run ("rule": 2 for an ensemble, 1 otherwise). With ``--before
REV`` it also times ``metrics.py`` as it was at git revision REV (e.g. ``HEAD``), for a
before/after on the same draws. Takes about two minutes on 2 cores (more with
``--before``).

    .venv/bin/python benchmarks/diagnostics.py [--before REV] [--repeats N]
"""

import argparse
import inspect
import statistics
import subprocess
import time
import types
from pathlib import Path

import numpy as np

from essbench import metrics
from essbench.problem import build_problem
from essbench.registry import sampler
from essbench.resources import diagnose_threads


def essbench_diagnostics(draws, threads, ensemble, module=metrics):
    """Seconds for every diagnostic the diagnose rule computes (as ``pipeline.diagnose``)."""
    fused = "walkers" in inspect.signature(module.per_parameter).parameters  # not before 2026-11
    start = time.perf_counter()
    if fused:
        per = module.per_parameter(draws, threads, walkers=ensemble)
    else:
        per = module.per_parameter(draws, threads)
    module.summarize_ess_rhat(per)
    module.bias_z(draws, np.zeros(draws.shape[2]), np.ones(draws.shape[2]), per)
    if ensemble:
        module.autocorr(draws, threads, per) if fused else module.autocorr(draws, threads)
    return time.perf_counter() - start


def naive_summary(draws):
    import arviz as az

    start = time.perf_counter()
    az.summary(az.from_dict({"posterior": {"x": draws}}))
    return time.perf_counter() - start


def metrics_at(revision: str) -> types.ModuleType:
    """``essbench.metrics`` as it was at a git revision, loaded as a separate module."""
    root = Path(__file__).resolve().parents[1]
    source = subprocess.run(
        ["git", "show", f"{revision}:src/essbench/metrics.py"],
        cwd=root,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    module = types.ModuleType(f"metrics_at_{revision}")
    exec(compile(source, f"metrics.py@{revision}", "exec"), module.__dict__)
    return module


def median_seconds(draws, threads, ensemble, repeats, module=metrics) -> float:
    """The median of ``repeats`` timings of :func:`essbench_diagnostics`."""
    timings = [essbench_diagnostics(draws, threads, ensemble, module) for _ in range(repeats)]
    return statistics.median(timings)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before", metavar="REV", help="also time metrics.py at this revision")
    parser.add_argument("--repeats", type=int, default=3, help="timings per figure (median)")
    args = parser.parse_args()
    before = metrics_at(args.before) if args.before else None

    problem = build_problem("gaussian_iid", 50)
    cases = {
        "emcee (tutorial)": (
            "emcee",
            {"burn": 1000, "steps": 5000, "nwalkers": 124, "walkers_per_dim": 2.5},
        ),
        "pymc_nuts d=50": (
            "pymc_nuts",
            {"tune": 1000, "draws": 1000, "chains": 2, "cores": 2, "target_accept": 0.8},
        ),
    }
    columns = ["1 thread", "2 threads", "rule", "az.summary"]
    if before:
        columns += ["before 1", "before 2"]
    print(f"{'run':16} {'sampling s':>10} " + " ".join(f"{c:>10}" for c in columns))
    for label, (name, options) in cases.items():
        module = sampler(name)
        run = module.run(problem, options, seed=1)
        ensemble = module.ENSEMBLE
        essbench_diagnostics(run.draws, 1, ensemble)  # warm: imports, tables, buffers
        by_threads = {t: median_seconds(run.draws, t, ensemble, args.repeats) for t in (1, 2)}
        rule = diagnose_threads(name)
        seconds = [by_threads[1], by_threads[2], by_threads[rule], naive_summary(run.draws)]
        if before:
            seconds += [
                median_seconds(run.draws, t, ensemble, args.repeats, before) for t in (1, 2)
            ]
        ratios = " ".join(f"{x / run.sampling_seconds:10.2f}" for x in seconds)
        print(f"{label:16} {run.sampling_seconds:10.2f} {ratios}   (rule: {rule} thread(s))")
    print("ratios: diagnostics seconds / sampling seconds (warm-up + draws), same process")


if __name__ == "__main__":
    main()
