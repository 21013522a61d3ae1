"""Gradient calls to a target accuracy: the microcanonical-HMC papers' cost, beside ours.

essbench's own cost is seconds (or gradients) per ArviZ bulk ESS. The MCHMC / MCLMC / MAMS
papers report another one, defined in their benchmark code (read, not copied):

- ``JakobRobnik/MicroCanonicalHMC`` at 349eba8 (2024-11-10, the commit whose README first
  prints both NUTS figures; unchanged in the README up to the snapshot 9b7c1b2, 2025-12-09):
  ``benchmarks/sampling_algorithms.py`` (``with_only_statistics``, ``da_adaptation``,
  ``nuts``) and ``benchmarks/metrics.py`` (``benchmark``, ``calculate_ess``,
  ``grads_to_low_error``, ``find_crossing``);
- ``reubenharry/sampler-benchmarks`` at 7ad0700 (2026-03-11):
  ``sampler-evaluation/sampler_evaluation/evaluation/ess.py``
  (``get_standardized_squared_error``, ``samples_to_low_error``, ``find_crossing``): the
  same definition on stored draws.

The definition, as those files compute it:

1. Per chain, the running average of x² over the kept draws (warm-up excluded: blackjax's
   ``store_only_expectation_values`` gives the initial state weight 0), at every step t.
2. Its normalised squared bias per parameter, b²_i(t) = (x̄²_i(t) − E[x_i²])² / Var[x_i²],
   with the truth's E[x²] and Var[x²]; contracted over parameters by the average (``avg``,
   the figure their README prints) or the maximum (``max``, the worst parameter).
3. Across chains: the **median** over chains of b²(t) at every t (``jnp.median(...,
   axis=0)`` in ``metrics.benchmark``; the README's "avg over 128 chains" is that median).
4. The steps to low bias: the run must *stay* below 0.01 (``find_crossing``: "the smallest M
   such that array[m] < cutoff for all m > M", i.e. one past the last step above it), and
   the bias must be below it at the run's end, else the cost is infinite (not reached).
5. Gradient calls = those steps × the mean number of gradient evaluations per kept step
   (NUTS: the mean ``num_integration_steps`` over chains and kept draws). Warm-up
   gradients are **not** counted (``calculate_ess`` has ``+ num_tuning_steps * ...``
   commented out at HEAD, absent at 349eba8).

b² = 0.01 is an RMSE of E[x²] of 0.1 standard deviations: the error of 100 independent draws,
hence "about 100 effective samples". One difference from their code: ``find_crossing``
returns the 0-based index of the first step that stays below, one less than the number of
draws it took; essbench counts the draws (one step, <1% of every figure below).
"""

import math

import numpy as np

# b² of the running average of x² the run must stay below (their ``low_error`` / ``1/neff``).
LOW_BIAS = 0.01
CONTRACTIONS = ("avg", "max")

# Published NUTS figures (gradient calls until b²_avg stays below 0.01, median of 128 chains,
# warm-up not counted), read from JakobRobnik/MicroCanonicalHMC's README at 9b7c1b2 (lines
# "Gradient calls for NUTS to reach ... RMSE of X^2 of 0.1: ..."). Their protocol: blackjax
# NUTS, velocity Verlet, identity mass matrix, 2,000 steps of dual averaging to acceptance
# 0.8 from step size 1 (``da_adaptation``), n = 10,000 kept steps at condition 100 (the
# README's call), float32 (JAX's default). The target: ``benchmarks/inference_models.py``
# ``Gaussian(ndims=100, condition_number=κ)``, i.e. essbench's ``gaussian_logspaced``.
PUBLISHED = (
    {
        "source": "JakobRobnik/MicroCanonicalHMC README @ 9b7c1b2",
        "target": "gaussian_logspaced",
        "dim": 100,
        "options": {"condition": 100.0},
        "protocol": "identity mass matrix, dual averaging to 0.8",
        "metric": "grads_to_bias_avg",
        "grads": {"NUTS": 8105.0810546875, "MCLMC": 978.0},
    },
    {
        "source": "JakobRobnik/MicroCanonicalHMC README @ 9b7c1b2",
        "target": "gaussian_logspaced",
        "dim": 100,
        "options": {"condition": 1.0e5},
        "protocol": "identity mass matrix, dual averaging to 0.8",
        "metric": "grads_to_bias_avg",
        "grads": {"NUTS": 204317.8125, "MCLMC": 19058.0},
    },
)


def x2_moments(target: str, dim: int, options: dict | None = None):
    """``(E[x²], Var[x²])`` per parameter from the target's ``x2_moments`` declaration, or
    None for a target that declares none (then the metric does not apply)."""
    from essbench import registry

    fn = getattr(registry.target(target).module, "x2_moments", None)
    if fn is None:
        return None
    e_x2, var_x2 = fn(dim, **(options or {}))
    return np.asarray(e_x2, float), np.asarray(var_x2, float)


def squared_bias(draws: np.ndarray, e_x2, var_x2) -> dict[str, np.ndarray]:
    """b²(t) per chain, shape (chains, draws), for each contraction (``avg``, ``max``).

    ``draws`` (chains, draws, params): the kept draws; entry t uses draws 0..t.
    """
    x = np.asarray(draws, float)
    n = np.arange(1, x.shape[1] + 1, dtype=float)[None, :, None]
    running = np.cumsum(x * x, axis=1) / n
    b2 = (running - np.asarray(e_x2, float)) ** 2 / np.asarray(var_x2, float)
    return {"avg": b2.mean(axis=2), "max": b2.max(axis=2)}


def steps_to_low_bias(b2_chains: np.ndarray, low: float = LOW_BIAS) -> float:
    """Draws until the median over chains of b²(t) stays below ``low`` (its last value
    included); ``inf`` when it is not below at the run's end."""
    b2 = np.median(np.asarray(b2_chains, float), axis=0)
    if not b2[-1] < low:
        return math.inf
    above = np.flatnonzero(~(b2 < low))
    return float(above[-1] + 2 if above.size else 1)


def grads_to_bias(draws: np.ndarray, e_x2, var_x2, grads_per_step, low: float = LOW_BIAS):
    """The literature's cost of one run, for both contractions over parameters.

    ``grads_per_step``: gradient (or log-density) evaluations per kept step, a number or an
    array of per-step counts (chains, draws) whose mean is taken (NUTS: tree sizes).
    Returns ``{"draws_to_bias_avg", "draws_to_bias_max", "grads_to_bias_avg",
    "grads_to_bias_max"}``; ``inf`` where the run never stays below ``low``.
    """
    per_step = float(np.mean(grads_per_step))
    out = {}
    for contraction, b2 in squared_bias(draws, e_x2, var_x2).items():
        steps = steps_to_low_bias(b2, low)
        out[f"draws_to_bias_{contraction}"] = steps
        out[f"grads_to_bias_{contraction}"] = steps * per_step
    return out


def columns(record: dict, draws: np.ndarray, target_options: dict | None = None) -> dict:
    """The runs table's columns of this metric for one diagnosed run (empty where it does
    not apply: a target without known second moments of x², or weighted draws).

    Gradient calls need the run's mean tree size (``stat_tree_size_mean``, every NUTS
    sampler records it); without one only the draws are counted.
    """
    moments = x2_moments(record["target"], record["dim"], target_options)
    if moments is None or draws.ndim != 3 or draws.shape[1] == 0:
        return {}
    per_step = record.get("stat_tree_size_mean")
    per_step = math.nan if per_step is None else float(per_step)
    return grads_to_bias(draws, *moments, per_step)
