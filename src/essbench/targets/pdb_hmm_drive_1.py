"""posteriordb's ``bball_drive_event_1-hmm_drive_1``: a basketball drive as a two-state
hidden Markov model with Gaussian emissions.

Per frame t, u_t (1 / speed) ~ N(phi[z_t], tau) and v_t (distance to the hoop) ~
N(lambda[z_t], rho), tau = rho = 0.1 (data), for 416 frames; z a Markov chain with
transition rows theta_k ~ Dirichlet(alpha[k]); phi and lambda ordered with phi[1],
lambda[1] ~ N(0, 1) and phi[2], lambda[2] ~ N(3, 1). The hidden states are summed out by
the forward algorithm. Both orderings are Stan's, and they are what remove the
label-switching mode. Parameters, in Stan's unconstrained space: theta1, theta2 by Stan's
simplex transform (one number each), phi and lambda by ordered (x[1], log(x[2] - x[1])).
"""

import numpy as np

from essbench import posteriordb
from essbench.targets import _posteriordb

NAME = "hmm_drive_1"
POSTERIOR = "bball_drive_event_1-hmm_drive_1"
DESCRIPTION = (
    "posteriordb: basketball drive, two-state HMM with Gaussian emissions, "
    "416 frames (6 parameters)"
)
KIND = "hidden Markov model"
OPTIONS = ()
MIN_DIM = MAX_DIM = 6
TRUTH = "posteriordb"
PRIOR_MISSING = _posteriordb.HMM_PRIOR_MISSING  # no nested samplers
STAN_PROGRAM = posteriordb.stan_code(POSTERIOR)


stan_data, truth = _posteriordb.functions(POSTERIOR, NAME)


def _normal_lpdf(y, mu, sigma):
    return -0.5 * ((y - mu) / sigma) ** 2 - np.log(sigma) - 0.5 * np.log(2 * np.pi)


def build_model(dim: int = 6):
    import pymc as pm
    from pymc.distributions.transforms import Ordered

    from essbench.targets import _hmm

    data = posteriordb.data(POSTERIOR)
    u = np.asarray(data["u"], float)[:, None]
    v = np.asarray(data["v"], float)[:, None]
    tau, rho = float(data["tau"]), float(data["rho"])
    with pm.Model() as model:
        log_transition = _hmm.log_transition(data["alpha"])
        phi = pm.Normal("phi", [0.0, 3.0], 1.0, transform=Ordered())
        lam = pm.Normal("lambda", [0.0, 3.0], 1.0, transform=Ordered())
        log_emission = _normal_lpdf(u, phi, tau) + _normal_lpdf(v, lam, rho)
        pm.Potential("forward", _hmm.forward_logp(log_transition, log_emission))
    return model
