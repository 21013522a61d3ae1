"""The same normals as gauss_logprob.py in plain NumPy, emcee style (an early -inf outside
the box): JAX cannot trace it, so it has no gradient. No truth: its reference comes from
nautilus on the prior transform."""

import numpy as np

NDIM = 2
MU = np.array([1.0, -2.0])
SD = np.array([0.5, 2.0])
LOW, HIGH = MU - 6 * SD, MU + 6 * SD


def log_likelihood(theta):
    return -0.5 * np.sum(((theta - MU) / SD) ** 2)


def log_prob(theta):
    if np.any(theta < LOW) or np.any(theta > HIGH):
        return -np.inf
    return log_likelihood(theta)


def prior_transform(u):
    return LOW + u * (HIGH - LOW)


def initial(rng, n):
    return MU + 0.1 * rng.standard_normal((n, 2))
