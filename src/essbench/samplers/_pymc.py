"""Shared driver for samplers run through ``pm.sample`` (NUTS and PyMC's gradient-free steps).

A throw-away ``pm.sample(tune=1, draws=1, chains=1)`` pays compilation first (reported as
``compile_seconds``); the real call is then one whole ``pm.sample``, as in the tutorial, and
its sampling time is PyMC's own clock around its sampling loop (``sampling_time`` of the
posterior's attributes: warm-up and draws, trace recording included). The rest of the call,
recorded apart as ``stat_sample_call_seconds`` (the whole call's wall time), is no sampling:
building the step method compiles the model's functions again (numba: loaded from
PyTensor's on-disk cache, whose state decided it: +0.12 s of CPU in a job whose compile
directory was warm, a 0.6 s run at d = 50, the fidelity gap of issue 27), the initial
points, the conversion to InferenceData and the convergence checks (together 0.4 s of CPU
there, against 0.38 s for the 2,000 steps). That loop time is split into warm-up and draws
in proportion to the per-draw
``perf_counter_diff`` that PyMC records (summed over chains) when the step method records it,
else in proportion to iterations; either is right whether chains run in parallel or in turn.
Draws are taken in the unconstrained space of the model's value variables (the space every
sampler moves in), so they line up with the targets' declared truth and with emcee's draws.
"""

from time import perf_counter

import numpy as np

from essbench.options import count, probability
from essbench.samplers import SamplerRun


def pm_options(tune: int = 1000, draws: int = 1000):
    """The options of every ``pm.sample`` sampler (its threads: ``min(chains, cores)``)."""
    return (
        count("tune", tune, "warm-up (tuning) iterations per chain, timed as warm-up", low=0),
        count("draws", draws, "kept iterations per chain"),
        count("chains", 2, "independent chains"),
        count("cores", 2, "chains run in parallel (the job's threads: min(chains, cores))"),
    )


TARGET_ACCEPT = probability("target_accept", 0.8, "NUTS step-size adaptation target")
PM_PACKAGES = ("pymc", "pytensor")


def stack(group, names) -> np.ndarray:
    """(chain, draw, params) array from a posterior group, in the problem's flat order."""
    parts = []
    for name in names:
        values = np.asarray(group[name].values)
        parts.append(values.reshape(values.shape[0], values.shape[1], -1))
    return np.concatenate(parts, axis=-1)


def per_draw_stats(group, names) -> dict:
    """The per-draw statistics among ``names`` that ``group`` has, as (chain, draw) arrays."""
    return {
        name: np.asarray(group[name].values)
        for name in names
        if name in group.data_vars and np.ndim(group[name].values) == 2
    }


def _stat_sum(group, name):
    if group is None or name not in group.data_vars:
        return None
    return float(np.sum(group[name].values))


def run_pm_sample(problem, options: dict, seed: int, step=None, **sample_kwargs) -> SamplerRun:
    """``step``: a function of the model returning a step method (None: PyMC's NUTS)."""
    # ``pm.sample`` ends with convergence checks that import arviz_stats (and SciPy) on first
    # use: about 1 s, which the throw-away call below skips (one chain) and which the tutorial's
    # script pays before its timer, at ``import arviz``. Pay it here, outside every timer.
    import arviz_stats  # noqa: F401
    import pymc as pm

    common = dict(
        model=problem.model,
        progressbar=False,
        compile_kwargs={"mode": problem.mode},
        idata_kwargs={"include_transformed": True},
        # essbench computes every run's R-hat and ESS itself (pipeline.diagnose): PyMC's own
        # checks after the loop would only add wall time (outside the clock since the clock
        # is PyMC's sampling_time; benchmarks/overhead.py counts it)
        compute_convergence_checks=False,
        **sample_kwargs,
    )

    def make_step():
        if step is None:
            return {}
        with problem.model:
            return {"step": step(problem.model)}

    start = perf_counter()
    pm.sample(tune=1, draws=1, chains=1, random_seed=seed, **make_step(), **common)
    compile_seconds = perf_counter() - start

    tune, n_draws, chains = int(options["tune"]), int(options["draws"]), int(options["chains"])
    step_kwargs = make_step()
    start = perf_counter()
    idata = pm.sample(
        tune=tune,
        draws=n_draws,
        chains=chains,
        cores=int(options["cores"]),
        random_seed=seed,
        discard_tuned_samples=False,
        **step_kwargs,
        **common,
    )
    call = perf_counter() - start
    # PyMC's clock around its sampling loop (pymc.sampling.mcmc.sample's t_sampling).
    wall = float(idata["posterior"].attrs.get("sampling_time", call))

    stats = idata["sample_stats"]
    warm = idata["warmup_sample_stats"] if tune > 0 else None
    draw_work = _stat_sum(stats, "perf_counter_diff")
    warm_work = _stat_sum(warm, "perf_counter_diff") if warm is not None else 0.0
    if draw_work is None or warm_work is None:
        draw_work, warm_work = float(n_draws), float(tune)
    share = warm_work / (warm_work + draw_work) if warm_work + draw_work else 0.0
    grad_evals = 0
    n_steps = _stat_sum(stats, "n_steps")
    if n_steps is not None:
        grad_evals = int(n_steps + (_stat_sum(warm, "n_steps") or 0))
    run_stats = {"sample_call_seconds": call}
    if "diverging" in stats.data_vars:
        run_stats["divergences"] = int(np.sum(stats["diverging"].values))
    if "step_size" in stats.data_vars:
        run_stats["step_size_mean"] = float(np.mean(stats["step_size"].values))
    if n_steps is not None:
        run_stats["tree_size_mean"] = float(np.mean(stats["n_steps"].values))
    if not grad_evals:  # log-density calls of the tuning steps (essbench.literature)
        run_stats["logp_evals_burn"] = chains * tune
    if "accepted" in stats.data_vars:
        run_stats["acceptance_mean"] = float(np.mean(stats["accepted"].values))
    return SamplerRun(
        draws=stack(idata["posterior"], problem.names),
        sample_stats=per_draw_stats(
            stats, ("diverging", "n_steps", "step_size", "tree_depth", "energy", "accepted")
        ),
        compile_seconds=compile_seconds,
        warmup_seconds=wall * share,
        draw_seconds=wall * (1.0 - share),
        grad_evals=grad_evals,
        logp_evals=0 if grad_evals else chains * (tune + n_draws),
        settings=dict(options),
        stats=run_stats,
    )
