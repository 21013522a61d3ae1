"""posteriordb's ``hmm_example-hmm_example``: a two-state Gaussian hidden Markov model.

y_t ~ N(mu[z_t], 1), z a Markov chain with transition rows theta1, theta2 (flat on the
simplex), mu positive_ordered with mu[1] ~ N(3, 1), mu[2] ~ N(10, 1) (``target +=``, no
truncation constant); the hidden states are summed out by the forward algorithm. The
ordering of mu is Stan's, and it is what removes the label-switching mode. Parameters,
in Stan's unconstrained space: theta1 and theta2 by Stan's simplex transform (one number
each), and mu by positive_ordered (log mu[1], log(mu[2] - mu[1])).
"""

import numpy as np

from essbench import posteriordb
from essbench.targets import _posteriordb

NAME = "hmm_example"
POSTERIOR = "hmm_example-hmm_example"
DESCRIPTION = "posteriordb: two-state Gaussian hidden Markov model, 100 steps (4 parameters)"
KIND = "hidden Markov model"
OPTIONS = ()
MIN_DIM = MAX_DIM = 4
TRUTH = "posteriordb"
PRIOR_MISSING = _posteriordb.HMM_PRIOR_MISSING  # no nested samplers
STAN_PROGRAM = posteriordb.stan_code(POSTERIOR)


stan_data, truth = _posteriordb.functions(POSTERIOR, NAME)


def build_model(dim: int = 4):
    import pymc as pm
    from pymc.distributions.transforms import Ordered

    from essbench.targets import _hmm

    data = posteriordb.data(POSTERIOR)
    k = int(data["K"])
    y = np.asarray(data["y"], float)
    with pm.Model() as model:
        # Stan declares no prior on theta1, theta2: flat on the simplex, Dirichlet(1, 1).
        log_transition = _hmm.log_transition(np.ones((k, k)))
        mu = pm.Normal("mu", [3.0, 10.0], 1.0, transform=Ordered(positive=True))
        log_emission = -0.5 * (y[:, None] - mu[None, :]) ** 2 - 0.5 * np.log(2 * np.pi)
        pm.Potential("forward", _hmm.forward_logp(log_transition, log_emission))
    return model
