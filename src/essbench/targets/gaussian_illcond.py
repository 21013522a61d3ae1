"""Correlated Gaussian: N(0, Σ) with Σ = Q diag(λ) Qᵀ, λ log-spaced from 1 to ``condition``
and Q a random rotation (fixed by ``rotation_seed``). Known covariance, so known truth."""

import numpy as np

from essbench.options import Option, count
from essbench.targets import Truth

NAME = "gaussian_illcond"
DESCRIPTION = "correlated Gaussian, condition number `condition`, random rotation"
GRADIENT = True
MIN_DIM = 2
# One mode: a Gaussian (the decision table's geometry).
MODES = 1
MAX_DIM = None
DEFAULT_CONDITION = 100.0
OPTIONS = (
    Option("condition", float, DEFAULT_CONDITION, "condition number of Σ", low=1.0),
    count("rotation_seed", 0, "seed of the random rotation", low=0),
)
PACKAGES = ()
# Nested samplers: the density is normalised; the box of +-8 marginal sd per coordinate
# leaves at most dim x 2 Phi(-8) = dim x 1.2e-15 of the mass outside (a union bound).
LOG_NORMALISER = 0.0
BOX_SDS = 8.0

# Sigma's Cholesky factor is data, computed here as for the PyMC model.
STAN_PROGRAM = """
data {
  int<lower=2> d;
  matrix[d, d] L;
}
parameters {
  vector[d] x;
}
model {
  x ~ multi_normal_cholesky(rep_vector(0, d), L);
}
"""


def covariance(dim: int, condition: float = DEFAULT_CONDITION, rotation_seed: int = 0):
    rng = np.random.default_rng(rotation_seed)
    q, r = np.linalg.qr(rng.standard_normal((dim, dim)))
    q *= np.sign(np.diag(r))  # a Haar-distributed rotation
    eig = np.logspace(0.0, np.log10(condition), dim)
    return (q * eig) @ q.T


def build_model(dim: int, condition: float = DEFAULT_CONDITION, rotation_seed: int = 0):
    import pymc as pm

    chol = np.linalg.cholesky(covariance(dim, condition, rotation_seed))
    with pm.Model() as model:
        pm.MvNormal("x", mu=np.zeros(dim), chol=chol)
    return model


def stan_data(dim: int, condition: float = DEFAULT_CONDITION, rotation_seed: int = 0) -> dict:
    return {"d": dim, "L": np.linalg.cholesky(covariance(dim, condition, rotation_seed))}


def truth(dim: int, condition: float = DEFAULT_CONDITION, rotation_seed: int = 0) -> Truth:
    return Truth(mean=np.zeros(dim), var=np.diag(covariance(dim, condition, rotation_seed)))


def x2_moments(dim: int, condition: float = DEFAULT_CONDITION, rotation_seed: int = 0):
    """Each x_i is N(0, Σ_ii): E[x_i²] = Σ_ii, Var[x_i²] = 2 Σ_ii² (essbench.literature)."""
    var = np.diag(covariance(dim, condition, rotation_seed))
    return var, 2.0 * var**2


def prior_box(dim, condition=DEFAULT_CONDITION, rotation_seed=0):
    half = BOX_SDS * np.sqrt(np.diag(covariance(dim, condition, rotation_seed)))
    return -half, half


PRIOR = prior_box


def initial_points(dim, n, rng, condition=DEFAULT_CONDITION, rotation_seed=0):
    return rng.randn(n, dim)


def sample_truth(dim, n, rng, condition=DEFAULT_CONDITION, rotation_seed=0):
    """Independent exact draws (for checking the declared truth)."""
    chol = np.linalg.cholesky(covariance(dim, condition, rotation_seed))
    return rng.randn(n, dim) @ chol.T
