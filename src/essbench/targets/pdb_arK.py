"""posteriordb's ``arK-arK``: an autoregressive model of order K = 5.

alpha ~ N(0, 10), beta_k ~ N(0, 10), sigma ~ half-Cauchy(0, 2.5), and for t = K+1..T,
y_t ~ N(alpha + sum_k beta_k y_{t-k}, sigma): the Stan program of posteriordb, ported to
PyMC with the same parameters, its loop over t written as one regression on the lagged
series. Parameters: alpha, beta[0..4], log(sigma).
"""

import numpy as np

from essbench import posteriordb
from essbench.targets import _posteriordb

NAME = "arK"
POSTERIOR = "arK-arK"
DESCRIPTION = "posteriordb: autoregressive model of order 5 (time series, 7 parameters)"
KIND = "time series"
OPTIONS = ()
MIN_DIM = MAX_DIM = 7
TRUTH = "posteriordb"
PRIOR = "model"  # every prior proper, univariate, with an inverse CDF (nested samplers)
STAN_PROGRAM = posteriordb.stan_code(POSTERIOR)


stan_data, truth = _posteriordb.functions(POSTERIOR, NAME)


def lagged(y: np.ndarray, order: int) -> np.ndarray:
    """(T - order, order): row t - order holds y[t-1], ..., y[t-order] (Stan's y[t-k])."""
    return np.column_stack([y[order - k : len(y) - k] for k in range(1, order + 1)])


def build_model(dim: int = 7):
    import pymc as pm

    data = posteriordb.data(POSTERIOR)
    order, y = int(data["K"]), np.asarray(data["y"], float)
    with pm.Model() as model:
        alpha = pm.Normal("alpha", 0.0, 10.0)
        beta = pm.Normal("beta", 0.0, 10.0, shape=order)
        sigma = pm.HalfCauchy("sigma", 2.5)
        pm.Normal("y", alpha + lagged(y, order) @ beta, sigma, observed=y[order:])
    return model
