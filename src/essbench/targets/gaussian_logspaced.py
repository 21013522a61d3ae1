"""Diagonal Gaussian with log-spaced variances: the microcanonical-HMC papers'
ill-conditioned Gaussian, x_i ~ N(0, λ_i), λ log-spaced from κ^(-1/2) to κ^(1/2).

The definition is theirs (vendored, not copied): ``JakobRobnik/MicroCanonicalHMC`` at
9b7c1b2, ``benchmarks/inference_models.py``, ``Gaussian(ndims, condition_number,
eigenvalues='log')`` with no ``numpy_seed`` (so unrotated): ``eigs = logspace(-0.5
log10 κ, 0.5 log10 κ, ndims)`` are the *variances* (``logdensity_fn = -0.5 Σ x² / eigs``),
``E_x2 = eigs``, ``Var_x2 = 2 eigs²``; the same in ``reubenharry/sampler-benchmarks`` at
7ad0700, ``sampler-evaluation/sampler_evaluation/models/gaussian_mams_paper.py``
(``IllConditionedGaussian``, "unrotated (unlike the inference-gym version)"). Their README
figures are at d = 100, κ = 100 and 10⁵ (:mod:`essbench.literature`). Unlike
``gaussian_illcond`` (λ from 1 to κ, randomly rotated), a diagonal mass matrix makes this
target trivial: what it measures is an unpreconditioned sampler. Their chains start wide,
N(0, max λ); essbench's NUTS samplers start from PyMC's jittered initial point instead (their
2,000 warm-up steps, not counted, forget either).
"""

import numpy as np

from essbench.options import Option
from essbench.targets import Truth

NAME = "gaussian_logspaced"
DESCRIPTION = (
    "diagonal Gaussian, variances log-spaced from κ^-½ to κ^½ (`condition` κ; the MCHMC"
    " papers' ill-conditioned Gaussian)"
)
GRADIENT = True
MIN_DIM = 2
# One mode: a Gaussian (the decision table's geometry).
MODES = 1
MAX_DIM = None
DEFAULT_CONDITION = 100.0
OPTIONS = (Option("condition", float, DEFAULT_CONDITION, "condition number κ of Σ", low=1.0),)
PACKAGES = ()
# Nested samplers: the density is normalised; the box of +-8 sd per coordinate leaves at most
# dim x 2 Phi(-8) = dim x 1.2e-15 of the mass outside (a union bound).
LOG_NORMALISER = 0.0
BOX_SDS = 8.0

STAN_PROGRAM = """
data {
  int<lower=2> d;
  vector<lower=0>[d] sd;
}
parameters {
  vector[d] x;
}
model {
  x ~ normal(0, sd);
}
"""


def variances(dim: int, condition: float = DEFAULT_CONDITION) -> np.ndarray:
    half = 0.5 * np.log10(condition)
    return np.logspace(-half, half, dim)


def build_model(dim: int, condition: float = DEFAULT_CONDITION):
    import pymc as pm

    with pm.Model() as model:
        pm.Normal("x", 0.0, np.sqrt(variances(dim, condition)), shape=dim)
    return model


def stan_data(dim: int, condition: float = DEFAULT_CONDITION) -> dict:
    return {"d": dim, "sd": np.sqrt(variances(dim, condition))}


def truth(dim: int, condition: float = DEFAULT_CONDITION) -> Truth:
    return Truth(mean=np.zeros(dim), var=variances(dim, condition))


def x2_moments(dim: int, condition: float = DEFAULT_CONDITION):
    """E[x²] = λ and Var[x²] = 2 λ² (their ``E_x2``, ``Var_x2``)."""
    lam = variances(dim, condition)
    return lam, 2.0 * lam**2


def prior_box(dim, condition=DEFAULT_CONDITION):
    half = BOX_SDS * np.sqrt(variances(dim, condition))
    return -half, half


PRIOR = prior_box


def initial_points(dim, n, rng, condition=DEFAULT_CONDITION):
    return rng.randn(n, dim)


def sample_truth(dim, n, rng, condition=DEFAULT_CONDITION):
    """Independent exact draws (for checking the declared truth)."""
    return rng.randn(n, dim) * np.sqrt(variances(dim, condition))
