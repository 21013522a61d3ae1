"""A model a user might have: a straight-line fit to data with outliers, robust Student-t
errors. A worked example of "Benchmark your own model" (README): essbench needs only
``build_model``; everything else here is optional and has a shared default.

Data: 40 points, x uniform on [0, 10], y = 1.5 + 0.8 x + N(0, 1), with 4 points moved up
by 8 to 12 (outliers); fixed by the seed below, so every run fits the same data.

Parameters (the model's value variables, the space samplers move in): intercept, slope,
log sigma, log(nu - 1). No closed-form posterior: essbench computes reference moments once
with long gated NUTS runs (the ``reference`` rule) and judges every sampler against them.
"""

import numpy as np

NAME = "linear_regression_outliers"  # optional: the config's name is used when absent
DESCRIPTION = "straight line with outliers, Student-t errors (a user's model)"
# No MIN_DIM/MAX_DIM and no dims in the config: build_model takes no dimension, so the
# model has a fixed size, and essbench counts its free parameters (four).

SEED = 20_261_201


def data():
    rng = np.random.default_rng(SEED)
    x = np.sort(rng.uniform(0.0, 10.0, 40))
    y = 1.5 + 0.8 * x + rng.normal(0.0, 1.0, x.size)
    outliers = rng.choice(x.size, 4, replace=False)
    y[outliers] += rng.uniform(8.0, 12.0, outliers.size)
    return x, y


def build_model():
    import pymc as pm

    x, y = data()
    with pm.Model() as model:
        intercept = pm.Normal("intercept", 0.0, 10.0)
        slope = pm.Normal("slope", 0.0, 10.0)
        sigma = pm.HalfNormal("sigma", 5.0)
        nu_minus_one = pm.Exponential("nu_minus_one", 1 / 29)
        pm.StudentT("y", nu=nu_minus_one + 1, mu=intercept + slope * x, sigma=sigma, observed=y)
    return model
