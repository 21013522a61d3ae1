"""PyMC's own NUTS, ``pm.sample(nuts_sampler="pymc")``, timed as the seed tutorial does.

A throw-away ``pm.sample(tune=1, draws=1, chains=1)`` pays compilation first (reported as
``compile_seconds``); the timed call is then one whole ``pm.sample``. Its wall time is split
into warm-up and draws in proportion to the per-draw ``perf_counter_diff`` that PyMC records
(summed over chains), which is right whether chains run in parallel or one after another.
"""

from time import perf_counter

import numpy as np

from essbench.samplers import SamplerRun

NAME = "pymc_nuts"
DESCRIPTION = "PyMC NUTS (pm.sample, nuts_sampler='pymc')"
NEEDS_GRADIENT = True
ENSEMBLE = False
DEFAULTS = {"tune": 1000, "draws": 1000, "chains": 2, "cores": 2, "target_accept": 0.8}


def threads(options: dict) -> int:
    return max(1, min(int(options["chains"]), int(options["cores"])))


def _stack(group, names) -> np.ndarray:
    """(chain, draw, params) array from a posterior group, in the problem's flat order."""
    parts = []
    for name in names:
        values = np.asarray(group[name].values)
        parts.append(values.reshape(values.shape[0], values.shape[1], -1))
    return np.concatenate(parts, axis=-1)


def run(problem, options: dict, seed: int) -> SamplerRun:
    import pymc as pm

    common = dict(
        model=problem.model,
        nuts_sampler="pymc",
        progressbar=False,
        compile_kwargs={"mode": problem.mode},
    )
    start = perf_counter()
    pm.sample(tune=1, draws=1, chains=1, random_seed=seed, **common)
    compile_seconds = perf_counter() - start

    chains = int(options["chains"])
    start = perf_counter()
    idata = pm.sample(
        tune=int(options["tune"]),
        draws=int(options["draws"]),
        chains=chains,
        cores=int(options["cores"]),
        target_accept=float(options["target_accept"]),
        random_seed=seed,
        discard_tuned_samples=False,
        **common,
    )
    wall = perf_counter() - start

    draws = _stack(idata["posterior"], problem.names)
    stats = idata["sample_stats"]
    n_steps = np.asarray(stats["n_steps"].values)
    grad_evals = int(n_steps.sum())
    draw_work = float(np.sum(stats["perf_counter_diff"].values))
    warmup_work = 0.0
    if int(options["tune"]) > 0:
        warm = idata["warmup_sample_stats"]
        grad_evals += int(np.asarray(warm["n_steps"].values).sum())
        warmup_work = float(np.sum(warm["perf_counter_diff"].values))
    warmup_share = warmup_work / (warmup_work + draw_work) if warmup_work + draw_work else 0.0
    diverging = np.asarray(idata["sample_stats"]["diverging"].values)
    step_size = np.asarray(idata["sample_stats"]["step_size"].values)
    return SamplerRun(
        draws=draws,
        compile_seconds=compile_seconds,
        warmup_seconds=wall * warmup_share,
        draw_seconds=wall * (1.0 - warmup_share),
        grad_evals=grad_evals,
        logp_evals=0,
        settings={k: options[k] for k in DEFAULTS},
        stats={
            "divergences": int(diverging.sum()),
            "step_size_mean": float(step_size.mean()),
            "tree_size_mean": float(n_steps.mean()),
        },
    )
