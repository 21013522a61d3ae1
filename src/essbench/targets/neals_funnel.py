"""Neal's funnel, centered: v ~ N(0, 3²), x_i | v ~ N(0, exp(v / 2)²) for i < d.

Truth: all means 0; Var(v) = 9; Var(x_i) = E[exp(v)] = exp(9 / 2). The neck is where
samplers fail: a biased or divergent run here is the expected, informative outcome.
"""

import numpy as np

from essbench.targets import Truth

NAME = "neals_funnel"
DESCRIPTION = "Neal's funnel (centered), v ~ N(0, 3), x | v ~ N(0, exp(v/2))"
GRADIENT = True
MIN_DIM = 2
# One mode: with x = 0 the log density is -v^2/18 - (d - 1) v / 2 (+ const), one maximum.
MODES = 1
OPTIONS = ()
PACKAGES = ()
MAX_DIM = None
# Nested samplers: the density is normalised. The box: v in +-8 sd (+-24), each x in
# +-10^4. x's marginal has heavy tails (its scale exp(v / 2) reaches 10^4 at v = 18.4, 6 sd
# out): +-10^4 leaves 1.2e-9 of its mass outside and 0.27% of its variance exp(9 / 2)
# (tests/test_nested.py integrates both), far below any run's error on that variance.
LOG_NORMALISER = 0.0
V_HALF_WIDTH = 24.0
X_HALF_WIDTH = 1.0e4


def prior_box(dim: int):
    half = np.full(dim, X_HALF_WIDTH)
    half[0] = V_HALF_WIDTH
    return -half, half


PRIOR = prior_box

STAN_PROGRAM = """
data {
  int<lower=2> d;
}
parameters {
  real v;
  vector[d - 1] x;
}
model {
  v ~ normal(0, 3);
  x ~ normal(0, exp(v / 2));
}
"""


def stan_data(dim: int) -> dict:
    return {"d": dim}


def build_model(dim: int):
    import pymc as pm

    with pm.Model() as model:
        v = pm.Normal("v", 0.0, 3.0)
        pm.Normal("x", 0.0, pm.math.exp(v / 2), shape=dim - 1)
    return model


def truth(dim: int) -> Truth:
    var = np.full(dim, np.exp(4.5))
    var[0] = 9.0
    return Truth(mean=np.zeros(dim), var=var)


def initial_points(dim, n, rng):
    return rng.randn(n, dim)


def sample_truth(dim, n, rng):
    v = 3.0 * rng.randn(n, 1)
    return np.hstack([v, np.exp(v / 2) * rng.randn(n, dim - 1)])
