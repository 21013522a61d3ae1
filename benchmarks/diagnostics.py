"""What do the diagnostics cost next to the sampling they judge? (issue: diagnostics cost)

Runs the seed's emcee protocol (124 walkers x (1000 + 5000) steps at d = 50) and NUTS at
d = 50 (2 chains x (1000 + 1000)) in this process, then times, on the same draws:
essbench's diagnostics (everything the diagnose rule computes) with 1 and 2 threads, and
the naive ``az.summary`` the tutorial used. Prints each as a ratio to the sampling time
(goal: essbench's at most 0.10). Takes about two minutes on 2 cores.

    .venv/bin/python benchmarks/diagnostics.py
"""

import time

import numpy as np

from essbench import metrics
from essbench.problem import build_problem
from essbench.registry import sampler


def essbench_diagnostics(draws, threads, ensemble):
    start = time.perf_counter()
    per = metrics.per_parameter(draws, threads)
    metrics.summarize_ess_rhat(per)
    metrics.bias_z(draws, np.zeros(draws.shape[2]), np.ones(draws.shape[2]), per)
    if ensemble:
        metrics.autocorr(draws, threads)
    return time.perf_counter() - start


def naive_summary(draws):
    import arviz as az

    start = time.perf_counter()
    az.summary(az.from_dict({"posterior": {"x": draws}}))
    return time.perf_counter() - start


def main():
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
    print(f"{'run':16} {'sampling s':>10} {'1 thread':>9} {'2 threads':>9} {'az.summary':>10}")
    for label, (name, options) in cases.items():
        module = sampler(name)
        run = module.run(problem, options, seed=1)
        sampling = run.sampling_seconds
        one = essbench_diagnostics(run.draws, 1, module.ENSEMBLE)
        two = essbench_diagnostics(run.draws, 2, module.ENSEMBLE)
        naive = naive_summary(run.draws)
        print(
            f"{label:16} {sampling:10.2f} {one / sampling:9.2f} {two / sampling:9.2f} "
            f"{naive / sampling:10.2f}   (ratios to sampling time)"
        )


if __name__ == "__main__":
    main()
