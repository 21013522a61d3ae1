"""A throw-away target module (tests/test_plugins.py): N(0, scale² I), with exact truth."""

import numpy as np

from essbench.options import Option
from essbench.targets import Truth

DESCRIPTION = "independent normals with standard deviation `scale` (a test's module)"
OPTIONS = (Option("scale", float, 1.0, "standard deviation", low=0, low_open=True),)
MIN_DIM = 1


def build_model(dim, scale=1.0):
    import pymc as pm

    with pm.Model() as model:
        pm.Normal("x", 0.0, scale, shape=dim)
    return model


def truth(dim, scale=1.0):
    return Truth(mean=np.zeros(dim), var=np.full(dim, scale**2))


def sample_truth(dim, n, rng, scale=1.0):
    return scale * rng.randn(n, dim)
