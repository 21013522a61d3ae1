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
PRIOR_MISSING = _posteriordb.HMM_PRIOR_MISSING  # no nested samplers
STAN_PROGRAM = posteriordb.stan_code(POSTERIOR)


stan_data, truth = _posteriordb.functions(POSTERIOR, NAME)


def initial_rates(y) -> np.ndarray:
    """An exponential rate per state from the data alone: 1 / mean of the values above and
    below the median, ascending (the model's initial point for phi and lambda).

    The priors' means (0, 3) are no start: 0 is positive_ordered's boundary, and near
    lambda[2] = 3 (v's mean is 31) a second state that explains no frame is a local mode
    whose rates sit at their priors, where NUTS chains started there stay.
    """
    y = np.asarray(y, float)
    median = np.median(y)
    return np.array([1.0 / y[y > median].mean(), 1.0 / y[y <= median].mean()])


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
        positive_ordered = Ordered(positive=True)
        phi = pm.Normal(
            "phi", [0.0, 3.0], 1.0, transform=positive_ordered, initval=initial_rates(data["u"])
        )
        lam = pm.Normal(
            "lambda", [0.0, 3.0], 1.0, transform=positive_ordered, initval=initial_rates(data["v"])
        )
        # exponential_lpdf(y | rate) = log(rate) - rate y, per frame (N, K).
        log_emission = pt.log(phi) - phi * u + pt.log(lam) - lam * v
        pm.Potential("forward", _hmm.forward_logp(log_transition, log_emission))
    return model
