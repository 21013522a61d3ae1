"""Targets: one module per target distribution.

A target module declares everything about itself (shipped ones in this package; a config
may name one in any file, ``targets: {my_model: {file: models/my_model.py}}``):

- ``NAME`` (str): the name used in configs (a file outside the package may leave it out);
- (a file may give ``log_prob(theta)`` with ``PARAM_NAMES`` or ``NDIM`` instead of
  ``build_model``: the emcee user's model, see :mod:`essbench.logprob`; ``LOG_PROB`` is then
  true, and ``GRADIENT`` says whether JAX traces and differentiates it);
- ``build_model(dim, **options) -> pymc.Model``: the model (import PyMC inside the function);
- ``DESCRIPTION`` (str): one line for the README and the report;
- ``OPTIONS``: the options of ``build_model`` (and of ``truth``), each an
  :class:`essbench.options.Option`;
- ``GRADIENT`` (bool, shared rule True): whether its log-density has gradients;
- ``MIN_DIM`` / ``MAX_DIM`` (int or None, shared rule None): the dimensions it supports;
- ``BACKENDS`` (shared rule: numba, c and jax): the PyTensor backends its model compiles
  with (an op without C code rules out ``"c"``); the config check refuses a study
  ``backend`` or a sampler's own ``BACKEND`` outside it;
- ``PACKAGES`` (distribution names for provenance) and ``ENV`` (its conda env, shared rule
  ``"sampling"``);
- either ``truth(dim, **options) -> Truth`` with exact moments and ``sample_truth(dim, n,
  rng, **options)`` giving independent exact draws (tests check one against the other), or
  no ``truth`` (``TRUTH = "reference"``): the ``reference`` rule then computes the moments
  once with the NUTS settings ``REFERENCE_NUTS`` (shared rule: 4 chains x 10,000 draws after
  1,000 warm-up steps, target_accept 0.9), gated (R-hat < 1.01, no divergences, bulk ESS >
  10,000), in one job that asks a cluster for ``REFERENCE_MINUTES`` (int, shared rule 120);
- optionally, with no ``truth``, ``reference_model(dim, **options) -> pymc.Model`` (or
  ``reference_model(**options)`` for a model of fixed size): an equivalent model with the same
  posterior over the model's free variables (each defined there by name, as a free variable or
  a ``pm.Deterministic``, same shape), e.g. the non-centered form of a funnel. The reference
  rule samples it (same settings and gates), its draws mapped into the model's value
  variables, and prefers it to nested sampling from the model's priors (a user's model whose
  priors allow it: :func:`essbench.nested.model_prior_problem`), to the config's
  ``reference_draws`` (:mod:`essbench.reference_draws`) and to NUTS on the model itself,
  which run too, as checks where they pass; the record's ``route`` (``reference_model`` /
  ``nested`` / ``user_draws`` / ``nuts_on_model``), its
  ``route_agreement`` and the runs' ``truth_source`` and ``truth_route`` say which made the
  truth and whether the others agree (``examples/eight_schools_centered.py``;
  :func:`essbench.pipeline.reference`);
- optionally ``STAN_PROGRAM`` (str) and, where it has a ``data`` block, ``stan_data(dim,
  **options) -> dict``: the same model in Stan, its parameters the PyMC model's free random
  variables (same names and shapes, constrained), for samplers that run Stan (``stan_nuts``;
  see :mod:`essbench.stan`);
- optionally ``initial_points(dim, n, rng, **options) -> ndarray (n, dim)``: starting points
  for ensemble samplers (``rng`` is a ``numpy.random.RandomState``); shared rule: the
  model's initial point plus N(0, 0.1²) jitter per coordinate;
- optionally ``PRIOR``, what nested samplers (dynesty, nautilus) transform the unit cube
  by (shared rule None: they refuse the target, the config check says so); see
  :mod:`essbench.nested`:

  - ``PRIOR = "model"``: the model's own priors, for a model with observed data (or
    potentials), which is the likelihood. Every free variable is drawn by PyMC's inverse
    CDF (``pm.icdf``), in the model's order, its parameters evaluated at the variables
    drawn before it (priors may depend on other variables), then mapped into the value
    space by its transform. A variable whose prior has no inverse CDF (a multivariate one)
    needs ``PRIOR_ICDF = {name: f}``, ``f(cube)`` a PyTensor graph from its own cube block
    (of the variable's shape) to its value on the constrained scale, drawn exactly from its
    prior (``radial_velocity``'s ``ecc_u``; ``tests/test_nested.py`` checks each declared
    prior by the Jacobian of the transform against the prior density);
  - ``PRIOR = prior_box``, a function ``prior_box(dim, **options) -> (low, high)``: a
    uniform box in the value space, for a target with no prior of its own. The likelihood is
    then the whole log density, so the box must be wide enough that truncation changes no
    reported moment (the synthetic targets' boxes leave less than 1e-6 of the mass out;
    say in the module how wide and why);

  a target that cannot have one (an improper prior, ...) says why in ``PRIOR_MISSING``
  (str), which the config check and the compatibility table give instead of the shared
  "no prior declared";
- optionally ``LOG_NORMALISER`` (float; shared rule None, unknown): the log of the integral
  of the model's density over the value space (0 for a normalised density). With a box
  prior it gives the true evidence, ``LOG_NORMALISER - log vol(box)``, which nested runs
  are checked against (``stat_logz_true``).
- optionally ``x2_moments(dim, **options) -> (E[x²], Var[x²])``, per parameter: the
  MCHMC papers' cost (``grads_to_bias_*``, :mod:`essbench.literature`) is computed for its
  runs; shared rule: none (``tests/test_literature.py`` checks each against exact draws).
  Where the papers take that metric on a map of the parameters (the funnel's Gaussianised
  coordinates), also ``x2_coordinates(draws, **options)``, draws (..., dim) to the map's
  coordinates (..., dim), and ``x2_moments`` gives the moments there; shared rule: the
  parameters themselves.

Parameters are the flattened value variables, i.e. the unconstrained space every sampler
moves in (for a positive parameter, its logarithm).
"""

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Truth:
    """Known first two moments of every parameter (flattened value-variable order).

    Reference truths carry the Monte Carlo standard errors of their moments (zero for
    analytic truths); bias z-scores add them in quadrature to the run's own MCSE.
    """

    mean: np.ndarray
    var: np.ndarray
    mean_mcse: np.ndarray | None = None
    var_mcse: np.ndarray | None = None
    # Quantiles (params, levels) at ``quantile_levels``, estimated from exact draws: the
    # bias test's calibrated statistic where they exist (see essbench.policy).
    quantile_levels: tuple = ()
    quantiles: np.ndarray | None = None
    quantile_prob_mcse: float = 0.0
    # Each parameter's kurtosis in the same exact draws (policy.MEAN_TEST_MAX_KURTOSIS).
    kurtosis: np.ndarray | None = None

    def mean_tested(self):
        """Which parameters' means the bias test z-tests (None: all): where there are
        quantiles, not the heavy-tailed ones (:data:`essbench.policy.MEAN_TEST_MAX_KURTOSIS`)."""
        from essbench import policy

        if self.quantiles is None or self.kurtosis is None:
            return None
        return np.asarray(self.kurtosis) <= policy.MEAN_TEST_MAX_KURTOSIS

    def mcse(self):
        zeros = np.zeros_like(self.mean)
        return (
            zeros if self.mean_mcse is None else np.asarray(self.mean_mcse),
            zeros if self.var_mcse is None else np.asarray(self.var_mcse),
        )


def is_reference(module) -> bool:
    return module.TRUTH == "reference"


# Exact draws behind a target's quantiles: their levels' Monte Carlo error is
# sqrt(p (1 - p) / n) <= 0.0011, a tenth of the bias test's error on 2 x 1000 draws.
QUANTILE_DRAWS = 200_000
QUANTILE_SEED = 20_261_201


def exact_quantiles(module, dim: int, options: dict, levels) -> tuple[np.ndarray, np.ndarray]:
    """(params, levels) quantiles of ``QUANTILE_DRAWS`` exact draws (a fixed seed), and each
    parameter's kurtosis in them."""
    x = module.sample_truth(dim, QUANTILE_DRAWS, np.random.RandomState(QUANTILE_SEED), **options)
    x = np.asarray(x, float)
    return np.quantile(x, levels, axis=0).T, kurtosis(x)


# Where exact quantiles are kept between processes (a directory; unset: not kept): the
# workflow sets results/shared/truth. The first batch of a model to diagnose a run draws the
# 200,000 exact draws (1.7 s at d = 64) and keeps their quantiles there; every later batch
# of the model reads them. (The compile rule did it first, but it is on the critical path:
# the longest batch waits for its model's compile; a batch's diagnostics run while another
# batch's run samples.)
TRUTH_CACHE_ENV = "ESSBENCH_TRUTH_CACHE"


def cached_exact_quantiles(
    target: str, module, dim: int, options: dict, levels
) -> tuple[np.ndarray, np.ndarray]:
    """:func:`exact_quantiles`, read from ``$ESSBENCH_TRUTH_CACHE`` where a process computed
    them before (keyed by the target's name, source file, dimension, options, levels, draws
    and seed), else computed and written there (atomically)."""
    import hashlib
    import json
    import os
    from pathlib import Path

    directory = os.environ.get(TRUTH_CACHE_ENV)
    source = getattr(getattr(module, "module", module), "__file__", None)
    if not directory or not source:
        return exact_quantiles(module, dim, options, levels)
    key = hashlib.sha256(
        json.dumps(
            [
                target,
                hashlib.sha256(Path(source).read_bytes()).hexdigest(),
                int(dim),
                options,
                list(levels),
                QUANTILE_DRAWS,
                QUANTILE_SEED,
            ],
            sort_keys=True,
            default=str,
        ).encode()
    ).hexdigest()[:16]
    path = Path(directory) / target / f"d{int(dim)}" / f"{key}.npz"
    try:
        with np.load(path) as kept:
            return kept["quantiles"], kept["kurtosis"]
    except (OSError, KeyError, ValueError):  # not there yet (or a torn file): compute
        pass
    quantiles, kurt = exact_quantiles(module, dim, options, levels)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f"{path.stem}.{os.getpid()}.partial.npz")
    np.savez(partial, quantiles=quantiles, kurtosis=kurt)
    os.replace(partial, path)
    return quantiles, kurt


def kurtosis(x: np.ndarray) -> np.ndarray:
    """Each column's kurtosis m4 / m2² (a normal's is 3) of draws ``x`` (n, params)."""
    centred = x - x.mean(axis=0)
    m2 = (centred**2).mean(axis=0)
    with np.errstate(divide="ignore", invalid="ignore"):
        return (centred**4).mean(axis=0) / m2**2


_QUANTILES: dict = {}


def reference_failure(reference_json) -> str | None:
    """Why the reference rule's record at ``reference_json`` holds no truth ("879 divergences
    (at most 0); ..."), or None: it passed its gates (or there is none)."""
    import json
    from pathlib import Path

    if not reference_json:
        return None
    ref = json.loads(Path(reference_json).read_text())
    if ref.get("status", "ok") == "ok":
        return None
    return "; ".join(ref.get("reasons") or ["no reason recorded"])


def reference_route(reference_json) -> str | None:
    """Which route of the reference rule made the truth at ``reference_json``:
    ``reference_model`` (NUTS on the target's equivalent ``reference_model``), ``nested``
    (nautilus from the model's priors), ``user_draws`` (the config's ``reference_draws``
    file), ``nuts_on_model`` (NUTS on the model itself; a record from before routes were
    recorded), or the log_prob reference's ``method``; None: no reference."""
    import json
    from pathlib import Path

    if not reference_json:
        return None
    ref = json.loads(Path(reference_json).read_text())
    return ref.get("route") or ref.get("method") or "nuts_on_model"


def reference_agreement(reference_json) -> list[dict]:
    """The reference record's ``route_agreement``: per other route that passed its gates,
    whether its means agree with the truth's (``essbench.pipeline.route_agreement``); []
    where no other route passed (or there is no reference)."""
    import json
    from pathlib import Path

    if not reference_json:
        return []
    return json.loads(Path(reference_json).read_text()).get("route_agreement") or []


def load_truth(target: str, dim: int, options: dict, reference_json=None) -> Truth | None:
    """The target's truth: analytic (with exact quantiles where it has exact draws), or
    read from the reference rule's output; None where the reference failed its gates (its
    record says so: :func:`reference_failure`)."""
    import json
    from dataclasses import replace
    from pathlib import Path

    from essbench import policy, registry

    module = registry.target(target)
    if not is_reference(module):
        truth = module.truth(dim, **options)
        if getattr(module.module, "sample_truth", None) is None:
            return truth
        levels = policy.BIAS_QUANTILE_LEVELS
        key = (target, dim, json.dumps(options, sort_keys=True, default=str), levels)
        if key not in _QUANTILES:
            _QUANTILES[key] = cached_exact_quantiles(target, module, dim, options, levels)
        mcse = float(np.sqrt(0.25 / QUANTILE_DRAWS))
        quantiles, kurt = _QUANTILES[key]
        return replace(
            truth,
            quantile_levels=levels,
            quantiles=quantiles,
            quantile_prob_mcse=mcse,
            kurtosis=kurt,
        )
    if not reference_json:
        raise ValueError(f"target {target} needs its reference moments (the reference rule)")
    ref = json.loads(Path(reference_json).read_text())
    if ref.get("status", "ok") != "ok":
        return None
    return Truth(
        mean=np.array(ref["mean"]),
        var=np.array(ref["var"]),
        mean_mcse=np.array(ref["mean_mcse"]),
        var_mcse=np.array(ref["var_mcse"]),
    )
