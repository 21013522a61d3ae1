"""What every posteriordb target shares: its Stan program and data, and its truth.

A posteriordb target module (``pdb_<model>.py``) declares ``POSTERIOR`` (posteriordb's
posterior name), ``build_model`` (the PyMC port of the Stan program, whose free random
variables carry the Stan parameters' names and shapes) and the rest of the target contract
with the loader and this helper::

    POSTERIOR = "arK-arK"
    TRUTH = "posteriordb"
    STAN_PROGRAM = posteriordb.stan_code(POSTERIOR)
    stan_data, truth = _posteriordb.functions(POSTERIOR, NAME)

Where posteriordb's draws lack a parameter, the module also defines ``from_reference(ref)``
(``ref(name, shape)`` gives a reference quantity's draws, (n, *shape)) returning every
free random variable's draws.

A port uses Stan's transforms to the unconstrained space wherever PyMC has them
(``tests/test_posteriordb.py`` then compares log densities with the Jacobian, and
gradients); one that cannot (PyMC lacks the transform) declares ``SAME_TRANSFORMS = False``
and says why in its docstring: the test then compares the densities without the Jacobian.

A posterior without vendored reference draws (``mcycle_gp-accel_gp``: its draws file is
absent from snapshot 28f8d3d) defines no ``truth`` and declares ``TRUTH = "reference"``:
the gated reference rule computes its moments here, and the README says so.

Truth = the moments of posteriordb's reference draws (10 chains x 1,000 draws, computed and
checked by posteriordb's maintainers), transformed draw by draw into essbench's parameter
space (the PyMC model's value variables) by PyMC's own transforms, with their Monte Carlo
errors from the draws' bulk ESS, and their 10/50/90% quantiles for the bias test.
"""

import math
from functools import cache

import numpy as np

from essbench import posteriordb

# Why nested samplers cannot run on posteriordb's hidden Markov models (their PRIOR_MISSING).
HMM_PRIOR_MISSING = (
    "its transition rows have Dirichlet priors (no inverse CDF) and its ordered emission"
    " parameters an unnormalised one (Stan's target += on an ordered vector): no cube"
    " transform is written for them"
)


@cache
def value_space_reference(posterior: str, target: str, dim: int) -> np.ndarray:
    """posteriordb's reference draws in the target's parameter space: (chains, draws, ndim)."""
    from essbench import registry, stan
    from essbench.problem import build_problem

    problem = build_problem(target, dim)
    names, _, _ = stan._transforms(problem.model)
    shapes = {rv.name: tuple(int(s) for s in rv.shape.eval()) for rv in problem.model.free_RVs}
    first = next(iter(posteriordb.reference_draws(posterior).values()))
    chains, draws = first.shape

    def ref(name: str, shape: tuple = ()) -> np.ndarray:
        a = posteriordb.reference_array(posterior, name, tuple(shape))
        return a.reshape((chains * draws, *shape))

    # posteriordb keeps what its maintainers chose (sometimes a transformed parameter
    # instead of the parameter: eight schools' theta, not theta_trans); a module whose
    # parameters are not all there derives them in ``from_reference(ref)``.
    derive = getattr(registry.target(target).module, "from_reference", None)
    flat = derive(ref) if derive is not None else {n: ref(n, shapes[n]) for n in names}
    missing = set(names) - set(flat)
    if missing:
        raise KeyError(f"{target}: from_reference gave no draws of {sorted(missing)}")
    return stan.to_value_space(problem, flat).reshape(chains, draws, problem.ndim)


def reference_truth(posterior: str, target: str, dim: int):
    from essbench import metrics, policy
    from essbench.targets import Truth

    x = value_space_reference(posterior, target, dim)
    per = metrics.per_parameter(x)
    levels = policy.BIAS_QUANTILE_LEVELS
    flat = x.reshape(-1, x.shape[-1])
    return Truth(
        mean=per["mean"],
        var=per["var"],
        mean_mcse=per["mcse_mean"],
        var_mcse=per["mcse_var"],
        quantile_levels=levels,
        quantiles=np.quantile(flat, levels, axis=0).T,
        # The reference quantiles' own error, as a probability: sqrt(p (1 - p) / ESS) at
        # p = 1/2 with the smallest bulk ESS of any parameter.
        quantile_prob_mcse=math.sqrt(0.25 / float(np.min(per["ess_bulk"]))),
    )


def functions(posterior: str, target: str):
    """The posteriordb target's ``stan_data(dim)`` (posteriordb's data, which fixes the
    dimension) and ``truth(dim)`` (:func:`reference_truth`)."""

    def stan_data(dim: int) -> dict:
        return posteriordb.data(posterior)

    def truth(dim: int):
        return reference_truth(posterior, target, dim)

    return stan_data, truth
