"""A throw-away log_prob target (tests/test_logprob.py): independent normals N(MU, SD²)
written with jax.numpy, with exact truth and a prior transform for the nested samplers
(a uniform box 12 standard deviations wide, so the truncation changes no moment)."""

import jax.numpy as jnp
import numpy as np

from essbench.targets import Truth

PARAM_NAMES = ["a", "b"]
MU = np.array([1.0, -2.0])
SD = np.array([0.5, 2.0])
LOW, HIGH = MU - 6 * SD, MU + 6 * SD


def log_prob(theta):
    return -0.5 * jnp.sum(((theta - MU) / SD) ** 2)


def log_prior(theta):  # the box's uniform density (constant inside it)
    return -np.sum(np.log(HIGH - LOW))


def prior_transform(u):
    return LOW + u * (HIGH - LOW)


def initial(rng, n):
    return MU + 0.1 * rng.standard_normal((n, 2))


def truth(dim):
    return Truth(mean=MU.copy(), var=SD**2)


def sample_truth(dim, n, rng):
    return MU + SD * rng.standard_normal((n, 2))
