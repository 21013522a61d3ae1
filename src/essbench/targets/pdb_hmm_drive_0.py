"""posteriordb's ``bball_drive_event_0-hmm_drive_0``: a basketball drive as a two-state
hidden Markov model with exponential emissions.

Per frame t, u_t (1 / speed) ~ Exponential(phi[z_t]) and v_t (distance to the hoop) ~
Exponential(lambda[z_t]) (rates), for 416 frames; z a Markov chain with transition rows
theta_k ~ Dirichlet(alpha[k]); phi and lambda positive_ordered with phi[1], lambda[1] ~
N(0, 1) and phi[2], lambda[2] ~ N(3, 1) (``target +=``, no truncation constant). The
hidden states are summed out by the forward algorithm. Both orderings are Stan's, and they
are what remove the label-switching mode. Parameters, in Stan's unconstrained space:
theta1, theta2 by Stan's simplex transform (one number each), phi and lambda by
positive_ordered (log x[1], log(x[2] - x[1])).
"""

import numpy as np

from essbench import posteriordb
from essbench.targets import _posteriordb

NAME = "hmm_drive_0"
POSTERIOR = "bball_drive_event_0-hmm_drive_0"
DESCRIPTION = (
    "posteriordb: basketball drive, two-state HMM with exponential emissions, "
    "416 frames (6 parameters)"
)
KIND = "hidden Markov model"
OPTIONS = ()
MIN_DIM = MAX_DIM = 6
TRUTH = "posteriordb"
STAN_PROGRAM = posteriordb.stan_code(POSTERIOR)
# The priors' means (0, 3), with the first moved off positive_ordered's boundary 0 by one
# prior standard deviation: the model's initial point.
INITIAL = (1.0, 3.0)


def stan_data(dim: int) -> dict:
    return posteriordb.data(POSTERIOR)


def truth(dim: int):
    return _posteriordb.reference_truth(POSTERIOR, NAME, dim)


def build_model(dim: int = 6):
    import pymc as pm
    import pytensor.tensor as pt
    from pymc.distributions.transforms import Ordered

    from essbench.targets import _hmm

    data = posteriordb.data(POSTERIOR)
    u = np.asarray(data["u"], float)[:, None]
    v = np.asarray(data["v"], float)[:, None]
    with pm.Model() as model:
        log_transition = _hmm.log_transition(data["alpha"])
        phi = pm.Normal("phi", [0.0, 3.0], 1.0, transform=Ordered(positive=True), initval=INITIAL)
        lam = pm.Normal(
            "lambda", [0.0, 3.0], 1.0, transform=Ordered(positive=True), initval=INITIAL
        )
        # exponential_lpdf(y | rate) = log(rate) - rate y, per frame (N, K).
        log_emission = pt.log(phi) - phi * u + pt.log(lam) - lam * v
        pm.Potential("forward", _hmm.forward_logp(log_transition, log_emission))
    return model
