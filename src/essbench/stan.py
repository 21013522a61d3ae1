"""Stan through pystan, and the map between Stan's parameters and essbench's.

A target that runs on Stan declares ``STAN_PROGRAM`` (its Stan program) and, where the
program has a ``data`` block, ``stan_data(dim, **options) -> dict``. The program's
``parameters`` block declares the PyMC model's free random variables under the same names
and shapes, in the constrained space (``real<lower=0> tau`` for PyMC's ``tau``, whose value
variable is ``tau_log__``). Stan's draws then map into essbench's parameter space (the
flattened value variables) through PyMC's own transforms, draw by draw, and every
diagnostic and truth applies to them unchanged.

Compiled models live in httpstan's cache, ``<cache>/httpstan/<httpstan version>/models``,
keyed by the program's code: the first build of a program takes ~30 s with g++, later
ones read the cache. ``<cache>`` is ``$ESSBENCH_STAN_CACHE`` when set (the workflow sets
it to ``results/shared/stan``), else the user's cache directory.
"""

import os
from functools import cache

import numpy as np

CACHE_ENV = "ESSBENCH_STAN_CACHE"


def build(program_code: str, data: dict | None = None, random_seed: int | None = None):
    """The pystan model of ``program_code`` with ``data`` (compiled once per program)."""
    root = os.environ.get(CACHE_ENV)
    if root:
        # httpstan asks appdirs for its cache directory on every call, and appdirs reads
        # XDG_CACHE_HOME each time.
        os.environ["XDG_CACHE_HOME"] = os.path.abspath(root)
    import stan

    return stan.build(program_code, data=dict(data or {}), random_seed=random_seed)


def versions() -> dict:
    from importlib import metadata

    return {name: metadata.version(name) for name in ("pystan", "httpstan")}


@cache
def _transforms(model):
    """Compiled PyMC maps: value variables -> constrained free RVs, and back."""
    import pytensor
    from pytensor.graph.replace import graph_replace

    free = list(model.free_RVs)
    values = [model.rvs_to_values[rv] for rv in free]
    to_constrained = pytensor.function(values, model.replace_rvs_by_values(free))
    constrained = [rv.type() for rv in free]
    forward = []
    for rv, c in zip(free, constrained, strict=True):
        transform = model.rvs_to_transforms.get(rv)
        forward.append(c if transform is None else transform.forward(c, *rv.owner.inputs))
    # The forward transforms may read other free RVs (a bound that is a parameter): those
    # are replaced by their values, i.e. by the constrained inputs themselves.
    forward = graph_replace(forward, dict(zip(free, constrained, strict=True)), strict=False)
    to_value = pytensor.function(constrained, forward, on_unused_input="ignore")
    return [rv.name for rv in free], to_constrained, to_value


def constrained(problem, theta: np.ndarray) -> dict:
    """The constrained free RVs (by name) at one flat value-space vector ``theta``."""
    names, to_constrained, _ = _transforms(problem.model)
    point = problem.point(np.asarray(theta, float))
    outs = to_constrained(*[point[v] for v in problem.names])
    return {name: np.asarray(out) for name, out in zip(names, outs, strict=True)}


def to_value_space(problem, draws: dict) -> np.ndarray:
    """Constrained draws ``{name: (n, *shape)}`` -> flat value-space draws (n, ndim)."""
    names, _, to_value = _transforms(problem.model)
    n = len(next(iter(draws.values())))
    out = np.empty((n, problem.ndim))
    for i in range(n):
        values = to_value(*[np.asarray(draws[name][i], dtype=float) for name in names])
        out[i] = np.concatenate([np.ravel(v) for v in values])
    return out


def stan_point(point: dict) -> dict:
    """Arrays -> nested lists, as pystan's ``unconstrain_pars`` takes them."""
    return {k: (v.tolist() if np.ndim(v) else float(v)) for k, v in point.items()}


def compare_log_density(problem, stan_model, thetas: np.ndarray) -> dict:
    """PyMC's and Stan's log densities and gradients at value-space points ``thetas``.

    Both include the Jacobian of the transform to the unconstrained space. Stan's
    gradient is permuted into essbench's parameter order when the two unconstrained
    spaces are the same numbers (same transforms; Stan orders arrays column-major): then
    ``perm`` is that permutation, else ``None`` (the transforms differ, and only the
    densities without Jacobian, ``*_nojac``, are comparable).
    """
    logp = problem.model.compile_logp(mode=problem.mode)
    dlogp = problem.model.compile_dlogp(mode=problem.mode)
    logp_nojac = problem.model.compile_logp(jacobian=False, mode=problem.mode)
    out = {k: [] for k in ("pymc", "stan", "pymc_nojac", "stan_nojac", "pymc_grad", "stan_grad")}
    perm = None
    for theta in np.atleast_2d(thetas):
        point = problem.point(theta)
        u = np.asarray(stan_model.unconstrain_pars(stan_point(constrained(problem, theta))))
        if perm is None and u.shape == theta.shape:
            order_u, order_t = np.argsort(u), np.argsort(theta)
            if np.allclose(u[order_u], theta[order_t], rtol=1e-8, atol=1e-10):
                perm = np.empty_like(order_u)
                perm[order_t] = order_u
        out["pymc"].append(float(logp(point)))
        out["pymc_nojac"].append(float(logp_nojac(point)))
        out["stan"].append(float(stan_model.log_prob(u.tolist(), adjust_transform=True)))
        out["stan_nojac"].append(float(stan_model.log_prob(u.tolist(), adjust_transform=False)))
        out["pymc_grad"].append(np.asarray(dlogp(point), float))
        out["stan_grad"].append(np.asarray(stan_model.grad_log_prob(u.tolist()), float))
    result = {k: np.array(v) for k, v in out.items()}
    if perm is not None:
        result["stan_grad"] = result["stan_grad"][:, perm]
    result["perm"] = perm
    return result
