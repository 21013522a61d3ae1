"""The tutorial's target, N(0, I_50), as an emcee user writes it: a plain ``log_prob`` with
``jax.numpy`` (benchmarks/fidelity.py's log-density cells; issue 29's fair timing)."""

import jax.numpy as jnp
import numpy as np

from essbench.targets import Truth

NDIM = 50


def log_prob(theta):
    return -0.5 * jnp.sum(theta**2)


def initial(rng, n):
    return rng.uniform(-1.0, 1.0, size=(n, NDIM))


def truth(dim):
    return Truth(mean=np.zeros(NDIM), var=np.ones(NDIM))


def sample_truth(dim, n, rng):
    return rng.standard_normal((n, NDIM))
