"""What nested samplers need from a target: a prior transform from the unit cube and a
log-likelihood, both in essbench's parameter space (the model's value variables).

A target declares its prior with ``PRIOR`` (see the ``essbench.targets`` docstring):

- ``PRIOR = "model"``: the PyMC model's own priors. Each free random variable, in the
  model's (topological) order, is drawn by its inverse CDF (``pm.icdf``) from its own block
  of the cube, with its parameters evaluated at the variables drawn before it (a prior
  that depends on another variable is fine), then mapped into the value space by the
  variable's transform (log for a positive one, ...). A variable without an inverse CDF (a
  multivariate prior) needs its own cube-to-value map in ``PRIOR_ICDF``. The likelihood is
  the observed variables' log density plus the potentials; the evidence is the model's
  marginal likelihood.
- ``PRIOR = prior_box``, a function ``prior_box(dim, **options) -> (low, high)``: a uniform
  box in the value space (the synthetic targets, which have no prior). The likelihood is
  the model's whole log density, so the posterior is the target truncated to the box and
  ``log Z = log(mass in the box) - log vol(box) + LOG_NORMALISER``. The box must hold all but
  a negligible mass (``tests/test_nested.py`` checks each shipped one), so truncation changes
  no reported moment; then, for a target whose log density integrates to a known
  ``LOG_NORMALISER`` (0 for a normalised one), the true ``log Z`` is known to within that
  mass: ``LOG_NORMALISER - log vol(box)``.

A target without ``PRIOR`` cannot be run by a nested sampler: :func:`unsupported` says what
to declare (or, where the target says why it has none in ``PRIOR_MISSING``, that), and the
config check refuses the pair.
"""

from dataclasses import dataclass

import numpy as np

# Why a nested sampler cannot run on a target without a declared prior (the config check's
# message; the README's compatibility table).
NO_PRIOR = (
    "no prior declared: give the target module PRIOR = 'model' (its PyMC priors) or a"
    " function prior_box(dim, **options) -> (low, high)"
)


def unsupported(target) -> str | None:
    """Why a nested sampler cannot run on ``target`` (None: it can)."""
    prior = target.PRIOR
    if prior is None:
        return f"no prior: {target.PRIOR_MISSING}" if target.PRIOR_MISSING else NO_PRIOR
    if prior == "transform" and target.LOG_PROB:  # a log_prob file's prior_transform
        return None
    if prior != "model" and not callable(prior):
        return f"PRIOR is {prior!r}: must be 'model' or a function prior_box(dim, **options)"
    return None


@dataclass
class NestedProblem:
    """A target as nested samplers see it.

    ``transform(U[n, d]) -> X[n, d]`` maps cube points to parameter vectors,
    ``loglike(x) -> float`` and ``loglike_batched(X[n, d]) -> [n]`` are the log-likelihood
    (``-inf`` where it is not finite), ``kind`` is ``"model"`` or ``"box"``, ``log_z_true``
    the true log evidence where it is known (else None), ``width`` the box's widths (box
    priors only).
    """

    kind: str
    ndim: int
    transform: object
    loglike: object
    loglike_batched: object
    log_z_true: float | None = None
    width: np.ndarray | None = None

    def transform_one(self, u: np.ndarray) -> np.ndarray:
        return self.transform(np.asarray(u, float)[None, :])[0]


def _lazy(make):
    """A function compiled by ``make()`` at its first call (each sampler calls only the
    single-point or only the batched likelihood: the other is never compiled)."""
    compiled = []

    def call(x):
        if not compiled:
            compiled.append(make())
        return compiled[0](x)

    return call


def _finite(values):
    values = np.asarray(values, float)
    return np.where(np.isfinite(values), values, -np.inf)


def build(problem) -> NestedProblem:
    """The prior transform and likelihood of a built :class:`essbench.problem.Problem`."""
    plugin = problem.module
    why = unsupported(plugin)
    if why:
        raise ValueError(f"target {problem.target}: {why}")
    if plugin.PRIOR == "model":
        return _model_prior(problem, plugin.PRIOR_ICDF)
    if plugin.PRIOR == "transform":  # a log_prob file's own prior_transform
        from essbench.logprob import nested_problem

        return nested_problem(problem)
    return _box_prior(problem, plugin)


def box(plugin, dim: int, options: dict) -> tuple[np.ndarray, np.ndarray]:
    """The declared box of a box-prior target, checked: finite, low < high."""
    low, high = (np.asarray(a, float) for a in plugin.PRIOR(dim, **options))
    if low.shape != high.shape or low.ndim != 1:
        raise ValueError(
            f"target {plugin.NAME}: prior_box returned shapes {low.shape}, {high.shape}:"
            " must be two vectors of one length"
        )
    if not (np.all(np.isfinite(low)) and np.all(np.isfinite(high)) and np.all(low < high)):
        raise ValueError(f"target {plugin.NAME}: prior_box must return finite low < high")
    return low, high


def _box_prior(problem, plugin) -> NestedProblem:
    low, high = box(plugin, problem.dim, problem.options)
    if low.size != problem.ndim:
        raise ValueError(
            f"target {problem.target}: prior_box gives {low.size} bounds, the model has"
            f" {problem.ndim} parameters"
        )
    width = high - low
    single, batched = _lazy(problem.compile_logp), _lazy(problem.compile_logp_batched)
    normaliser = plugin.LOG_NORMALISER
    log_z = None if normaliser is None else float(normaliser - np.sum(np.log(width)))
    return NestedProblem(
        kind="box",
        ndim=problem.ndim,
        transform=lambda u: low + np.asarray(u, float) * width,
        loglike=lambda x: float(_finite(single(np.asarray(x, float)))),
        loglike_batched=lambda x: _finite(batched(x)),
        log_z_true=log_z,
        width=width,
    )


def _model_prior(problem, overrides: dict) -> NestedProblem:
    import pymc as pm
    import pytensor.tensor as pt
    from pymc.pytensorf import compile as pm_compile
    from pytensor.graph.replace import graph_replace, vectorize_graph

    model = problem.model
    cube = pt.vector("cube")
    drawn: dict = {}  # free RV -> its constrained value, a graph of the cube only
    values = []
    unknown = set(overrides) - {rv.name for rv in model.free_RVs}
    if unknown:
        raise ValueError(
            f"target {problem.target}: PRIOR_ICDF names {sorted(unknown)}, not free variables"
        )
    for rv, value_var, shape, sl in zip(
        model.free_RVs, model.value_vars, problem.shapes, problem.slices, strict=True
    ):
        u = cube[sl].reshape(shape)
        if rv.name in overrides:
            constrained = overrides[rv.name](u)
        else:
            try:
                constrained = pm.icdf(rv, u)
            except NotImplementedError as exc:
                raise ValueError(
                    f"target {problem.target}: the prior of {rv.name} has no inverse CDF"
                    f" ({exc}); give it a cube-to-value map in PRIOR_ICDF"
                ) from None
        constrained = graph_replace(constrained, drawn, strict=False) if drawn else constrained
        drawn[rv] = constrained
        transform = model.rvs_to_transforms.get(rv)
        value = constrained
        if transform is not None:
            inputs = [graph_replace(i, drawn, strict=False) for i in rv.owner.inputs]
            value = transform.forward(constrained, *inputs)
        values.append(pt.reshape(value, (-1,)))
        if value_var.name != problem.names[len(values) - 1]:
            raise AssertionError("free variables and value variables out of order")
    flat = pt.concatenate(values)
    batch = pt.matrix("cube_batch")
    transform_fn = _lazy(
        lambda: pm_compile([batch], vectorize_graph(flat, replace={cube: batch}), mode=problem.mode)
    )

    terms = [*model.observed_RVs, *model.potentials]
    if not terms:
        raise ValueError(f"target {problem.target}: PRIOR = 'model' but the model has no data")
    loglike = model.logp(vars=terms)
    point = pt.vector("theta")
    point_batch = pt.matrix("theta_batch")
    replace, replace_batch = {}, {}
    for value_var, shape, sl in zip(model.value_vars, problem.shapes, problem.slices, strict=True):
        replace[value_var] = point[sl].reshape(shape)
        replace_batch[value_var] = point_batch[:, sl].reshape((point_batch.shape[0], *shape))
    single = _lazy(
        lambda: pm_compile(
            [point], graph_replace(loglike, replace, strict=False), mode=problem.mode
        )
    )
    batched = _lazy(
        lambda: pm_compile(
            [point_batch], vectorize_graph(loglike, replace=replace_batch), mode=problem.mode
        )
    )
    return NestedProblem(
        kind="model",
        ndim=problem.ndim,
        transform=lambda u: np.asarray(transform_fn(np.asarray(u, "float64"))),
        loglike=lambda x: float(_finite(single(np.asarray(x, "float64")))),
        loglike_batched=lambda x: _finite(batched(np.asarray(x, "float64"))),
    )


def log_z_stats(log_z: float, log_z_err: float, log_z_true: float | None) -> dict:
    """The evidence statistics of a run: its estimate and error estimate, and where the
    truth is known, the truth and the error in units of the estimate's error."""
    stats = {"logz": float(log_z), "logz_err": float(log_z_err)}
    if log_z_true is not None:
        stats["logz_true"] = float(log_z_true)
        stats["logz_z"] = float((log_z - log_z_true) / log_z_err) if log_z_err > 0 else np.nan
    return stats


def model_prior_problem(problem) -> str | None:
    """Why the model's own priors cannot serve as a nested sampler's prior for the
    reference rule's ``nested`` route (None: they can). The prior must be the product of
    the free variables' own distributions, each proper with an inverse CDF (or a map in
    ``PRIOR_ICDF``), and the likelihood what the observed variables (and potentials, a
    factor of the posterior like a likelihood term) add: so the model needs observed data,
    and no free variable may carry a transform other than its distribution's default (an
    ``ordered`` transform restricts the prior's support, which its inverse CDF ignores)."""
    from pymc.distributions.transforms import _default_transform

    model = problem.model
    if model is None or not getattr(model, "free_RVs", None):
        return "no PyMC model"
    if not model.observed_RVs:
        return "the model has no observed variables (no likelihood apart from its priors)"
    for rv in model.free_RVs:
        own = model.rvs_to_transforms.get(rv)
        default = _default_transform(rv.owner.op, rv)
        if own is not None and type(own) is not type(default):
            return (
                f"{rv.name} has a transform of its own ({type(own).__name__}), which changes"
                " its prior's support"
            )
    try:
        _model_prior(problem, problem.module.PRIOR_ICDF)
    except ValueError as exc:
        return str(exc).removeprefix(f"target {problem.target}: ")
    return None
