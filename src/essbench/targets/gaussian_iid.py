"""The tutorial's target: ``x ~ Normal(0, 1)`` with ``shape=dim``."""

import numpy as np

from essbench.targets import Truth

NAME = "gaussian_iid"
DESCRIPTION = "independent standard normals, N(0, I_d) (the tutorial's target)"
GRADIENT = True
MIN_DIM = 1
# One mode: a Gaussian (the decision table's geometry).
MODES = 1
OPTIONS = ()
PACKAGES = ()
MAX_DIM = None
# Nested samplers: N(0, 1) is normalised; the box of +-8 sd leaves 2 Phi(-8) = 1.2e-15 of
# the mass outside per coordinate.
LOG_NORMALISER = 0.0
BOX_SDS = 8.0


def prior_box(dim: int):
    return np.full(dim, -BOX_SDS), np.full(dim, BOX_SDS)


PRIOR = prior_box

STAN_PROGRAM = """
data {
  int<lower=1> d;
}
parameters {
  vector[d] x;
}
model {
  x ~ std_normal();
}
"""


def stan_data(dim: int) -> dict:
    return {"d": dim}


def build_model(dim: int):
    import pymc as pm

    with pm.Model() as model:
        pm.Normal("x", shape=dim)
    return model


def truth(dim: int) -> Truth:
    return Truth(mean=np.zeros(dim), var=np.ones(dim))


def x2_moments(dim: int):
    """E[x²] = 1 and Var[x²] = 2 (essbench.literature's metric)."""
    return np.ones(dim), np.full(dim, 2.0)


def initial_points(dim: int, n: int, rng: np.random.RandomState) -> np.ndarray:
    # The tutorial starts emcee's walkers at ``np.random.randn(nwalkers, ndim)``.
    return rng.randn(n, dim)


def sample_truth(dim: int, n: int, rng: np.random.RandomState) -> np.ndarray:
    """Independent exact draws (for checking the declared truth)."""
    return rng.randn(n, dim)
