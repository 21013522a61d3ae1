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

**The coordinates.** Their x is ``model.transform(state.position)`` (MicroCanonicalHMC
``sampling_algorithms.py`` lines 154-160) or ``default_event_space_bijector(state.position)``
(sampler-benchmarks ``sampler_comparison/samplers/general.py`` line 68): the identity for the
Gaussian and the banana, but the Gaussianisation (v / 3, x_i exp(-v / 2)) for the funnel. A
target whose metric is taken on such a map declares ``x2_coordinates(draws, **options)``
(``neals_funnel``), and ``x2_moments`` then gives the moments in those coordinates;
:func:`columns` applies the map to the kept draws before the metric.

**The MAMS paper's cases** (``reubenharry/sampler-benchmarks``; its README at 7ad0700 names
``sampler-comparison/results/<model>/main.py`` as the script of each "table 1" result): the
banana (``results/banana/nuts_banana.csv`` at 75c09b7, 2025-05-15) and the funnel
(``results/Neals_Funnel_MAMS_Paper/nuts_Neals_Funnel_MAMS_Paper.csv`` at 93cfe2b, same
day), their targets defined in :mod:`essbench.targets.banana` and
:mod:`essbench.targets.neals_funnel`. Their NUTS is *not* the README's: ``nuts()`` of
``sampler_comparison/samplers/hamiltonianmontecarlo/nuts.py`` (75c09b7, lines 12-55) has
``diagonal_preconditioning=True`` by default, i.e. ``blackjax.window_adaptation`` (Stan's
windows, diagonal inverse mass matrix, step size to BlackJAX's default acceptance 0.8) for
``num_tuning_steps=5000`` steps, not counted (``num_tuning_grads`` is reported apart). The
funnel's ``main.py`` passes ``target_acc_rate=0.99``, but ``nuts()`` gives it only to the
identity branch's ``da_adaptation``: under the window adaptation it is 0.8. So the published
figure belongs to ``blackjax_nuts`` at its defaults with ``tune: 5000``
(``config/literature_mams.yaml``). Chains start from N(0, I) (``initialize_model``, no
``sample_init`` on either model), float64 (``jax_enable_x64``), the median over chains
``np.nanmedian``; 512 chains x 200,000 steps (banana), 128 x 20,000 (funnel).

Not reproduction targets: ``JakobRobnik/MicroCanonicalHMC``'s ``results/nongridresults
{Banana2,Funnel20}<key>.csv`` (59bfa02 and fb9f904, Jan-Feb 2025) hold NUTS rows whose
``ess_avg`` is 100 ÷ the same gradient count (``metrics.calculate_ess``), but from code
that changed between runs (1,000 to 10,000 warm-up steps, with and without
preconditioning, not all recorded): the banana's range from 14,700 to 68,200 gradients, the
funnel's three from 24,600 to 27,700. The banana's figure is noisy even in the MAMS
repository: the same ``results/banana/nuts_banana.csv`` read 114,778 at 23b791a
(2025-05-12) before 83,598 at 75c09b7, and ``results/other/Banana_MAMS_Paper/
nuts_Banana_MAMS_Paper.csv`` (6443564, 2,048 chains x 20,000 steps, the same density)
reads 58,750: x2² is heavy-tailed (skewness ≈ 13, kurtosis in the hundreds: x2 is 3 (x1² / 100
- 1) plus a standard normal), so one chain's running mean has a skewed error, and the median over
chains crosses 0.01 late and unevenly.
"""

import math

import numpy as np

# b² of the running average of x² the run must stay below (their ``low_error`` / ``1/neff``).
LOW_BIAS = 0.01
CONTRACTIONS = ("avg", "max")

# Published NUTS figures (gradient calls until the median over chains of b² stays below 0.01,
# warm-up not counted). ``case``: the name ``benchmarks/literature.py --cases`` takes;
# ``config``: the file under config/ holding the samplers' protocol (warm-up and kept steps);
# ``mass_matrix``: the protocol's, the essbench NUTS samplers with that ``mass_matrix``
# option get the published figure beside them; ``grads`` / ``grads_max``: the published
# figures for b²_avg / b²_max (``inf``: not reached in their run).
#
# JakobRobnik/MicroCanonicalHMC's README at 9b7c1b2 (lines "Gradient calls for NUTS to reach
# ... RMSE of X^2 of 0.1: ..."). Their protocol: blackjax NUTS, velocity Verlet, identity mass
# matrix, 2,000 steps of dual averaging to acceptance 0.8 from step size 1 (``da_adaptation``),
# n = 10,000 kept steps at condition 100 (the README's call), 128 chains, float32 (JAX's
# default). The target: ``benchmarks/inference_models.py`` ``Gaussian(ndims=100,
# condition_number=κ)``, i.e. essbench's ``gaussian_logspaced``.
README_PROTOCOL = "identity mass matrix, dual averaging to 0.8"
# reubenharry/sampler-benchmarks, the MAMS paper's table 1 (see the module docstring): blackjax
# NUTS with window adaptation (diagonal mass matrix, acceptance 0.8), 5,000 warm-up steps,
# float64; the CSV's num_grads_to_low_error for statistic ``square`` (max False / True).
MAMS_PROTOCOL = "window adaptation (diagonal mass matrix), 5,000 warm-up steps"
PUBLISHED = (
    {
        "case": "logspaced_k100",
        "source": "JakobRobnik/MicroCanonicalHMC README @ 9b7c1b2",
        "target": "gaussian_logspaced",
        "dim": 100,
        "options": {"condition": 100.0},
        "config": "literature.yaml",
        "mass_matrix": "identity",
        "protocol": README_PROTOCOL,
        "metric": "grads_to_bias_avg",
        "grads": {"NUTS": 8105.0810546875, "MCLMC": 978.0},
    },
    {
        "case": "logspaced_k1e5",
        "source": "JakobRobnik/MicroCanonicalHMC README @ 9b7c1b2",
        "target": "gaussian_logspaced",
        "dim": 100,
        "options": {"condition": 1.0e5},
        "config": "literature.yaml",
        "mass_matrix": "identity",
        "protocol": README_PROTOCOL,
        "metric": "grads_to_bias_avg",
        "grads": {"NUTS": 204317.8125, "MCLMC": 19058.0},
    },
    {
        # the rows indexed 2 (max) and 3 (avg); their bootstrap std over chains 1,702 / 1,539.
        "case": "banana",
        "source": "reubenharry/sampler-benchmarks"
        " sampler-comparison/results/banana/nuts_banana.csv @ 75c09b7",
        "target": "banana",
        "dim": 2,
        "options": {"b": 0.03},
        "config": "literature_mams.yaml",
        "mass_matrix": "diagonal",
        "protocol": MAMS_PROTOCOL,
        "metric": "grads_to_bias_avg",
        "grads": {"NUTS": 83598.00574111329},
        "grads_max": {"NUTS": 111691.38752871095},
        # the CSV's L (mean over chains of step size x mean integration steps) and step size
        "detail": {"L": 1.8366044601469567, "step_size": 0.21424763700222613},
    },
    {
        # the rows indexed 3 (avg; bootstrap std 44.5) and 2 (max: inf, not reached in
        # 20,000 steps).
        "case": "funnel",
        "source": "reubenharry/sampler-benchmarks sampler-comparison/results/"
        "Neals_Funnel_MAMS_Paper/nuts_Neals_Funnel_MAMS_Paper.csv @ 93cfe2b",
        "target": "neals_funnel",
        "dim": 20,
        "options": {},
        "config": "literature_mams.yaml",
        "mass_matrix": "diagonal",
        "protocol": MAMS_PROTOCOL,
        "metric": "grads_to_bias_avg",
        "grads": {"NUTS": 26391.662059375005},
        "grads_max": {"NUTS": math.inf},
        # The CSV's L and step size; steps and tree size decoded from the figure: it is
        # steps-to-bias x mean tree size, and x 128 chains x 20,000 draws gives an integer
        # (the summed integration steps) at 569 steps x 46.38 only among the trees that can
        # be a mean over chains of n_c when step size x n_c is about L (at least L / step
        # size = 33; 1,138 x 23.19 is the other exact split). Inferred, not printed there.
        "detail": {
            "L": 2.391220973774433,
            "step_size": 0.07249483921819383,
            "steps": 569,
            "tree_size": 46.38253437500001,
        },
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


def x2_coordinates(target: str, draws: np.ndarray, options: dict | None = None) -> np.ndarray:
    """The draws in the coordinates the metric's x lives in: the target's
    ``x2_coordinates(draws, **options)`` where it declares one (the Gaussianised funnel),
    else the draws themselves."""
    from essbench import registry

    fn = getattr(registry.target(target).module, "x2_coordinates", None)
    return draws if fn is None else np.asarray(fn(draws, **(options or {})), float)


# Chains per block of squared_bias: its temporaries are a block's (chains, draws, params).
_BLOCK_CHAINS = 8


def squared_bias(draws: np.ndarray, e_x2, var_x2, pool: bool = False) -> dict[str, np.ndarray]:
    """b²(t) per chain, shape (chains, draws), for each contraction (``avg``, ``max``).

    ``draws`` (chains, draws, params): the kept draws; entry t uses draws 0..t. Computed in
    blocks of chains, so memory beyond the draws is a block's, not the whole array's again.
    ``pool``: the chains are one sampler's walkers (an ensemble), whose estimate at step t is
    the mean over all walkers' draws 0..t: one series, shape (1, draws).
    """
    x = np.asarray(draws)
    if pool:
        x = np.sqrt(np.mean(np.square(x, dtype=float), axis=0, keepdims=True))
    e_x2, var_x2 = np.asarray(e_x2, float), np.asarray(var_x2, float)
    n = np.arange(1, x.shape[1] + 1, dtype=float)[None, :, None]
    out = {c: np.empty(x.shape[:2]) for c in CONTRACTIONS}
    for start in range(0, x.shape[0], _BLOCK_CHAINS):
        block = np.asarray(x[start : start + _BLOCK_CHAINS], float)
        running = np.cumsum(block * block, axis=1)
        running /= n
        running -= e_x2
        np.square(running, out=running)
        running /= var_x2
        out["avg"][start : start + _BLOCK_CHAINS] = running.mean(axis=2)
        out["max"][start : start + _BLOCK_CHAINS] = running.max(axis=2)
    return out


def steps_to_low_bias(b2_chains: np.ndarray, low: float = LOW_BIAS) -> float:
    """Draws until the median over chains of b²(t) stays below ``low`` (its last value
    included); ``inf`` when it is not below at the run's end."""
    b2 = np.median(np.asarray(b2_chains, float), axis=0)
    if not b2[-1] < low:
        return math.inf
    above = np.flatnonzero(~(b2 < low))
    return float(above[-1] + 2 if above.size else 1)


def grads_to_bias(
    draws: np.ndarray, e_x2, var_x2, grads_per_step, low: float = LOW_BIAS, pool: bool = False
):
    """The literature's cost of one run, for both contractions over parameters.

    ``grads_per_step``: gradient (or log-density) evaluations per kept step, a number or an
    array of per-step counts (chains, draws) whose mean is taken (NUTS: tree sizes); with
    ``pool`` (an ensemble, :func:`squared_bias`) a step is the whole ensemble's.
    Returns ``{"draws_to_bias_avg", "draws_to_bias_max", "grads_to_bias_avg",
    "grads_to_bias_max"}``; ``inf`` where the run never stays below ``low``.
    """
    per_step = float(np.mean(grads_per_step))
    out = {}
    for contraction, b2 in squared_bias(draws, e_x2, var_x2, pool).items():
        steps = steps_to_low_bias(b2, low)
        out[f"draws_to_bias_{contraction}"] = steps
        out[f"grads_to_bias_{contraction}"] = steps * per_step
    return out


# What a run's ``grads_to_bias_*`` counts (``grads_to_bias_unit``): gradient evaluations for
# a gradient-based sampler (its mean tree size per kept step), log-density evaluations for a
# gradient-free one (as ``ess_per_grad`` and ``ess_per_logp`` split them).
EVAL_UNITS = {"grad": "gradient evaluations", "logp": "log-density evaluations"}


def evals_per_kept_step(record: dict) -> tuple[float, str]:
    """Evaluations per kept step and their unit (``EVAL_UNITS``); a step is one chain's, or
    for an ensemble (``record["ensemble"]``) all its walkers' (its walkers are one sampler).

    Gradient-based: the mean tree size (``stat_tree_size_mean``, every NUTS sampler records
    it). Gradient-free (an ensemble, DEMetropolisZ): the log-density calls after burn-in
    (``logp_evals`` less ``stat_logp_evals_burn``) over the kept steps, so a zeus walker's
    several slice calls per step count, as the papers count their gradients. ``(nan, "")``
    where the record has neither (warm-up evaluations are never counted).
    """
    tree = record.get("stat_tree_size_mean")
    if tree is not None and math.isfinite(float(tree)):
        return float(tree), "grad"
    logp, burn = record.get("logp_evals"), record.get("stat_logp_evals_burn")
    chains, draws = record.get("n_chains"), record.get("n_draws")
    if logp and burn is not None and chains and draws and not record.get("gradient_based"):
        steps = float(draws) * (1.0 if record.get("ensemble") else float(chains))
        return (float(logp) - float(burn)) / steps, "logp"
    return math.nan, ""


def columns(record: dict, draws: np.ndarray, target_options: dict | None = None) -> dict:
    """The runs table's columns of this metric for one diagnosed run (empty where it does
    not apply: a target without known second moments of x², or weighted draws).

    The draws are first mapped to the metric's coordinates (:func:`x2_coordinates`); the
    median is over the run's chains, and an ensemble's walkers are pooled into one. Evaluations per
    kept step come from :func:`evals_per_kept_step`; without them only the draws are
    counted (``grads_to_bias_*`` nan).
    """
    moments = x2_moments(record["target"], record["dim"], target_options)
    if moments is None or draws.ndim != 3 or draws.shape[1] == 0:
        return {}
    per_step, unit = evals_per_kept_step(record)
    z = x2_coordinates(record["target"], draws, target_options)
    out = grads_to_bias(z, *moments, per_step, pool=bool(record.get("ensemble")))
    return out | ({"grads_to_bias_unit": unit} if unit else {})
