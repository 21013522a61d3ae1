"""posteriordb's ``low_dim_gauss_mix-low_dim_gauss_mix``: a two-component normal mixture.

y_n ~ theta N(mu_1, sigma_1) + (1 - theta) N(mu_2, sigma_2) with mu ordered, mu ~ N(0, 2),
sigma ~ half-N(0, 2), theta ~ Beta(5, 5): the Stan program of posteriordb, ported to PyMC
with the same parameters and transforms (Stan's ``ordered`` is PyMC's ordered transform).
Parameters: mu[0], log(mu[1] - mu[0]), log(sigma[0..1]), logit(theta).
"""

import numpy as np

from essbench import posteriordb
from essbench.targets import _posteriordb

NAME = "low_dim_gauss_mix"
POSTERIOR = "low_dim_gauss_mix-low_dim_gauss_mix"
DESCRIPTION = "posteriordb: two-component normal mixture, 1,000 points (mixture, 5 parameters)"
KIND = "mixture"
OPTIONS = ()
MIN_DIM = MAX_DIM = 5
TRUTH = "posteriordb"
# Why nested samplers cannot run on it (the config check's message).
PRIOR_MISSING = (
    "mu is an ordered vector with N(0, 2) on each component and no normalisation for the"
    " ordering (Stan's ordered): drawing it by inverse CDFs breaks the order, and no cube"
    " transform is written for it"
)
STAN_PROGRAM = posteriordb.stan_code(POSTERIOR)


stan_data, truth = _posteriordb.functions(POSTERIOR, NAME)


def build_model(dim: int = 5):
    import pymc as pm
    import pytensor.tensor as pt

    data = posteriordb.data(POSTERIOR)
    with pm.Model() as model:
        mu = pm.Normal(
            "mu",
            0.0,
            2.0,
            shape=2,
            transform=pm.distributions.transforms.ordered,
            initval=np.array([-1.0, 1.0]),
        )
        sigma = pm.HalfNormal("sigma", 2.0, shape=2)
        theta = pm.Beta("theta", 5.0, 5.0)
        pm.NormalMixture(
            "y", pt.stack([theta, 1.0 - theta]), mu, sigma, observed=np.asarray(data["y"], float)
        )
    return model
