"""posteriordb's ``eight_schools-eight_schools_noncentered``: eight schools, non-centered.

theta_trans ~ N(0, 1)^8, mu ~ N(0, 5), tau ~ half-Cauchy(0, 5), y_j ~ N(mu + tau
theta_trans_j, sigma_j): the Stan program of posteriordb, ported to PyMC with the same
parameters. Parameters: theta_trans[0..7], mu, log(tau).
"""

import numpy as np

from essbench import posteriordb
from essbench.targets import _posteriordb

NAME = "eight_schools_noncentered"
POSTERIOR = "eight_schools-eight_schools_noncentered"
DESCRIPTION = "posteriordb: eight schools, non-centered (hierarchical, 10 parameters)"
KIND = "hierarchical"
OPTIONS = ()
MIN_DIM = MAX_DIM = 10
TRUTH = "posteriordb"
STAN_PROGRAM = posteriordb.stan_code(POSTERIOR)
# Nested samplers: the model's own priors (each has an inverse CDF).
PRIOR = "model"


stan_data, truth = _posteriordb.functions(POSTERIOR, NAME)


def from_reference(ref) -> dict:
    """posteriordb keeps theta = mu + tau theta_trans, not theta_trans."""
    mu, tau = ref("mu"), ref("tau")
    theta = ref("theta", (8,))
    return {"theta_trans": (theta - mu[:, None]) / tau[:, None], "mu": mu, "tau": tau}


def build_model(dim: int = 10):
    import pymc as pm

    data = posteriordb.data(POSTERIOR)
    with pm.Model() as model:
        theta_trans = pm.Normal("theta_trans", 0.0, 1.0, shape=data["J"])
        mu = pm.Normal("mu", 0.0, 5.0)
        tau = pm.HalfCauchy("tau", 5.0)
        pm.Normal("y", theta_trans * tau + mu, np.asarray(data["sigma"]), observed=data["y"])
    return model
