"""Eight schools, non-centered (Rubin 1981; Gelman et al. BDA): hierarchical, 10 parameters.

mu ~ N(0, 5), tau ~ HalfCauchy(5), theta_tilde ~ N(0, 1)^8, y_j ~ N(mu + tau theta_tilde_j,
sigma_j). No closed-form posterior moments: the ``reference`` rule computes them once with
long many-chain NUTS runs that must pass strict gates, and comparisons read them from there.
Parameters are the model's value variables: mu, log(tau), theta_tilde[0..7].
"""

import numpy as np

NAME = "eight_schools"
DESCRIPTION = "eight schools, non-centered hierarchical model (reference truth)"
GRADIENT = True
MIN_DIM = 10
OPTIONS = ()
PACKAGES = ()
MAX_DIM = 10
TRUTH = "reference"
# Nested samplers: the model's own priors (each has an inverse CDF).
PRIOR = "model"
# The reference run: 8 chains x 5,000 draws after 2,000 warm-up steps, target_accept 0.99.
REFERENCE_NUTS = {"chains": 8, "tune": 2000, "draws": 5000, "target_accept": 0.99}

Y = np.array([28.0, 8.0, -3.0, 7.0, -1.0, 1.0, 18.0, 12.0])
SIGMA = np.array([15.0, 10.0, 16.0, 11.0, 9.0, 11.0, 10.0, 18.0])
STAN_PROGRAM = """
data {
  int<lower=1> J;
  vector[J] y;
  vector<lower=0>[J] sigma;
}
parameters {
  real mu;
  real<lower=0> tau;
  vector[J] theta_tilde;
}
model {
  mu ~ normal(0, 5);
  tau ~ cauchy(0, 5);
  theta_tilde ~ std_normal();
  y ~ normal(mu + tau * theta_tilde, sigma);
}
"""


def stan_data(dim: int = 10) -> dict:
    return {"J": len(Y), "y": Y, "sigma": SIGMA}


def build_model(dim: int = 10):
    import pymc as pm

    with pm.Model() as model:
        mu = pm.Normal("mu", 0.0, 5.0)
        tau = pm.HalfCauchy("tau", 5.0)
        theta_tilde = pm.Normal("theta_tilde", 0.0, 1.0, shape=8)
        pm.Normal("y", mu + tau * theta_tilde, SIGMA, observed=Y)
    return model


def initial_points(dim, n, rng):
    x = rng.randn(n, dim)
    x[:, 0] *= 5.0
    return x
