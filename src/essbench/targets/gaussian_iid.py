"""The tutorial's target: ``x ~ Normal(0, 1)`` with ``shape=dim``."""

import numpy as np

from essbench.targets import Truth

NAME = "gaussian_iid"
DESCRIPTION = "independent standard normals, N(0, I_d) (the tutorial's target)"
GRADIENT = True
MIN_DIM = 1
OPTIONS = ()
PACKAGES = ()
MAX_DIM = None
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


def initial_points(dim: int, n: int, rng: np.random.RandomState) -> np.ndarray:
    # The tutorial starts emcee's walkers at ``np.random.randn(nwalkers, ndim)``.
    return rng.randn(n, dim)


def sample_truth(dim: int, n: int, rng: np.random.RandomState) -> np.ndarray:
    """Independent exact draws (for checking the declared truth)."""
    return rng.randn(n, dim)
