"""What do the diagnostics cost next to the sampling they judge? (issue: diagnostics cost)

Runs the seed's emcee protocol (124 walkers x (1000 + 5000) steps at d = 50) and NUTS at
d = 50 (2 chains x (1000 + 1000)) in this process, then times, on the same draws:
essbench's diagnostics (everything the diagnose rule computes) with 1 and 2 threads, and
the naive ``az.summary`` the tutorial used. Prints each as a ratio to the sampling time
(goal: essbench's at most 0.10). With ``--before REV`` it also times ``metrics.py`` as it
was at git revision REV (e.g. ``HEAD``), for a before/after on the same draws. Takes about
two minutes on 2 cores (more with ``--before``).

    .venv/bin/python benchmarks/diagnostics.py [--before REV]
"""

import argparse
import inspect
import subprocess
import time
import types
from pathlib import Path

import numpy as np

from essbench import metrics
from essbench.problem import build_problem
from essbench.registry import sampler


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


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before", metavar="REV", help="also time metrics.py at this revision")
    args = parser.parse_args()
    before = metrics_at(args.before) if args.before else None

    problem = build_problem("gaussian_iid", 50)
    cases = {
        "emcee (seed)": (
            "emcee",
            {"burn": 1000, "steps": 5000, "nwalkers": 124, "walkers_per_dim": 2.5},
        ),
        "pymc_nuts d=50": (
            "pymc_nuts",
            {"tune": 1000, "draws": 1000, "chains": 2, "cores": 2, "target_accept": 0.8},
        ),
    }
    header = f"{'run':16} {'sampling s':>10} {'1 thread':>9} {'2 threads':>9} {'az.summary':>10}"
    if before:
        header += f" {'before 1':>9} {'before 2':>9}"
    print(header)
    for label, (name, options) in cases.items():
        module = sampler(name)
        run = module.run(problem, options, seed=1)
        sampling = run.sampling_seconds
        seconds = [
            essbench_diagnostics(run.draws, 1, module.ENSEMBLE),
            essbench_diagnostics(run.draws, 2, module.ENSEMBLE),
            naive_summary(run.draws),
        ]
        if before:
            seconds += [
                essbench_diagnostics(run.draws, threads, module.ENSEMBLE, before)
                for threads in (1, 2)
            ]
        widths = (9, 9, 10, 9, 9)[: len(seconds)]
        ratios = " ".join(f"{s / sampling:{w}.2f}" for s, w in zip(seconds, widths, strict=True))
        print(f"{label:16} {sampling:10.2f} {ratios}   (ratios to sampling time)", flush=True)


if __name__ == "__main__":
    main()
