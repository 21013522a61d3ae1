"""posteriordb's ``kilpisjarvi_mod-kilpisjarvi``: a linear trend in Kilpisjärvi's summer
temperatures, 1952-2013.

alpha ~ N(pmualpha, psalpha), beta ~ N(pmubeta, psbeta) (the data's prior settings),
sigma flat on (0, inf), y ~ N(alpha + beta x, sigma): the Stan program of posteriordb,
ported to PyMC with the same parameters. The program does not centre x (calendar years),
so alpha (the temperature in year 0) and beta are almost perfectly correlated: a hard
posterior for samplers that do not adapt a dense metric. Parameters: alpha, beta,
log(sigma).
"""

import numpy as np

from essbench import posteriordb
from essbench.targets import _posteriordb

NAME = "kilpisjarvi"
POSTERIOR = "kilpisjarvi_mod-kilpisjarvi"
DESCRIPTION = "posteriordb: temperature trend, uncentred years (linear regression, 3 parameters)"
KIND = "linear regression"
OPTIONS = ()
MIN_DIM = MAX_DIM = 3
TRUTH = "posteriordb"
# Why nested samplers cannot run on it (the config check's message).
PRIOR_MISSING = (
    "sigma has a flat (improper) prior, as in its Stan program: no prior to transform the"
    " unit cube with"
)
STAN_PROGRAM = posteriordb.stan_code(POSTERIOR)


stan_data, truth = _posteriordb.functions(POSTERIOR, NAME)


def build_model(dim: int = 3):
    import pymc as pm

    data = posteriordb.data(POSTERIOR)
    x, y = np.asarray(data["x"], float), np.asarray(data["y"], float)
    with pm.Model() as model:
        alpha = pm.Normal("alpha", data["pmualpha"], data["psalpha"])
        beta = pm.Normal("beta", data["pmubeta"], data["psbeta"])
        sigma = pm.HalfFlat("sigma")
        pm.Normal("y", alpha + beta * x, sigma, observed=y)
    return model
