"""posteriordb's ``gp_pois_regr-gp_regr``: Gaussian-process regression, marginalised.

y ~ N(0, K + sigma I) at 11 points, K the squared-exponential covariance alpha^2
exp(-(x_i - x_j)^2 / (2 rho^2)); note that Stan's program adds sigma, not sigma^2, to the
diagonal. rho ~ Gamma(25, 4), alpha ~ half-N(0, 2), sigma ~ half-N(0, 1). Parameters, in
Stan's unconstrained space: log rho, log alpha, log sigma.
"""

import numpy as np

from essbench import posteriordb
from essbench.targets import _posteriordb

NAME = "gp_regr"
POSTERIOR = "gp_pois_regr-gp_regr"
DESCRIPTION = "posteriordb: Gaussian-process regression, marginalised (3 parameters)"
KIND = "Gaussian process"
OPTIONS = ()
MIN_DIM = MAX_DIM = 3
TRUTH = "posteriordb"
PRIOR = "model"  # every prior proper, univariate, with an inverse CDF (nested samplers)
STAN_PROGRAM = posteriordb.stan_code(POSTERIOR)


stan_data, truth = _posteriordb.functions(POSTERIOR, NAME)


def build_model(dim: int = 3):
    import pymc as pm
    import pytensor.tensor as pt

    data = posteriordb.data(POSTERIOR)
    x = np.asarray(data["x"], float)
    y = np.asarray(data["y"], float)
    d2 = (x[:, None] - x[None, :]) ** 2
    with pm.Model() as model:
        rho = pm.Gamma("rho", alpha=25.0, beta=4.0)
        alpha = pm.HalfNormal("alpha", 2.0)
        sigma = pm.HalfNormal("sigma", 1.0)
        cov = alpha**2 * pt.exp(-0.5 * d2 / rho**2) + sigma * pt.eye(len(x))
        pm.MvNormal("y", np.zeros(len(x)), chol=pt.linalg.cholesky(cov), observed=y)
    return model
