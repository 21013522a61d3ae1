"""posteriordb's ``garch-garch11``: a GARCH(1, 1) model.

y_t ~ N(mu, sigma_t) with sigma_1 given and sigma_t^2 = alpha0 + alpha1 (y_{t-1} - mu)^2 +
beta1 sigma_{t-1}^2; flat priors on mu (real), alpha0 > 0, alpha1 in (0, 1) and beta1 in
(0, 1 - alpha1): the Stan program of posteriordb, ported to PyMC with the same parameters
and transforms (beta1's interval depends on alpha1, as in Stan). Stan's recursion is
linear in sigma_t^2, so the port computes sigma_t^2 = beta1^(t-1) sigma_1^2 +
sum_{2<=k<=t} beta1^(t-k) c_k (c_k = alpha0 + alpha1 (y_{k-1} - mu)^2) as one matrix
product (no scan). Parameters: mu, log(alpha0), logit(alpha1), logit(beta1 / (1 - alpha1)).
"""

import numpy as np

from essbench import posteriordb
from essbench.targets import _posteriordb

NAME = "garch11"
POSTERIOR = "garch-garch11"
DESCRIPTION = "posteriordb: GARCH(1, 1) volatility model (time series, 4 parameters)"
KIND = "time series"
OPTIONS = ()
MIN_DIM = MAX_DIM = 4
TRUTH = "posteriordb"
# Why nested samplers cannot run on it (the config check's message).
PRIOR_MISSING = (
    "mu and alpha0 have flat (improper) priors, as in its Stan program: no prior to"
    " transform the unit cube with"
)
STAN_PROGRAM = posteriordb.stan_code(POSTERIOR)


stan_data, truth = _posteriordb.functions(POSTERIOR, NAME)


def build_model(dim: int = 4):
    import pymc as pm
    import pytensor.tensor as pt

    from essbench.targets.pdb_arma11 import linear_filter

    data = posteriordb.data(POSTERIOR)
    y = np.asarray(data["y"], float)
    with pm.Model() as model:
        mu = pm.Flat("mu")
        alpha0 = pm.HalfFlat("alpha0")
        alpha1 = pm.Uniform("alpha1", 0.0, 1.0)
        beta1 = pm.Uniform("beta1", 0.0, 1.0 - alpha1)
        # Stan's beta1 is flat on its interval: cancel Uniform's density 1 / (1 - alpha1).
        pm.Potential("beta1_flat", pt.log1p(-alpha1))
        # sigma_t^2 = c_t + beta1 sigma_{t-1}^2 from c_1 = sigma_1^2.
        c = pt.concatenate(
            [pt.as_tensor([data["sigma1"] ** 2]), alpha0 + alpha1 * (y[:-1] - mu) ** 2]
        )
        sigma = pt.sqrt(linear_filter(c, beta1, len(y)))
        pm.Potential("y", pm.logp(pm.Normal.dist(mu, sigma), y).sum())
    return model
