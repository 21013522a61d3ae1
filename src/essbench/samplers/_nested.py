"""What the nested samplers (dynesty, nautilus) share: the prior transform and likelihood
built and compiled outside the timer, the refusal of targets without a prior, and their
weighted draws as one chain."""

import numpy as np

from essbench import nested
from essbench.samplers import SamplerRun

PACKAGES_COMMON = ("pymc", "pytensor")


def unsupported(target) -> str | None:
    """Why a nested sampler cannot run on ``target`` (None: it can)."""
    return nested.unsupported(target)


def prepare(problem, batched: bool):
    """The transform and likelihood (``batched``: the one of many points at once, else the
    single-point one), compiled and called once: the batch's first run pays it, before its
    timer; later runs reuse it from ``problem.cache``."""
    built = problem.cache.get("nested")
    if built is None:
        built = problem.cache["nested"] = nested.build(problem)
    x = built.transform(np.full((1, problem.ndim), 0.5))
    if batched:
        built.loglike_batched(x)
    else:
        built.loglike(x[0])
    return built


def weighted_run(points, log_w, **fields) -> SamplerRun:
    """A :class:`SamplerRun` of weighted draws (one chain): ``log_w`` normalised to sum 1."""
    log_w = np.asarray(log_w, float)
    w = np.exp(log_w - np.max(log_w))
    w /= w.sum()
    draws = np.ascontiguousarray(np.asarray(points, float)[None, :, :])
    return SamplerRun(
        draws=draws, weights=w[None, :], sample_stats={"weight": w[None, :]}, **fields
    )
