"""Neal's funnel, centered: v ~ N(0, 3²), x_i | v ~ N(0, exp(v / 2)²) for i < d.

Truth: all means 0; Var(v) = 9; Var(x_i) = E[exp(v)] = exp(9 / 2). The neck is where
samplers fail: a biased or divergent run here is the expected, informative outcome.

The MCHMC papers' funnel is this distribution at d = 20, benchmarked in *Gaussianised*
coordinates (read, not copied):

- ``reubenharry/sampler-benchmarks`` at 7ad0700 (unchanged since 93cfe2b, 2025-05-15, the
  NeurIPS submission that wrote the published figure),
  ``sampler-evaluation/sampler_evaluation/models/neals_funnel_mams_paper.py``: lines 12-20,
  ``x = [z_0, ..., z_18, theta]``, ``sigma_theta = 3.0``, ``ndims = 20``, log density
  ``-0.5 (theta / sigma_theta)² - 0.5 (ndims - 1) theta - 0.5 exp(-theta) Σ z²``, i.e.
  theta ~ N(0, 3²), z_i | theta ~ N(0, exp(theta)): essbench's (v, x) with theta last;
  lines 23-28, ``transform`` ("gaussianization"): ``xtilde[-1] = theta / 3``,
  ``xtilde[:-1] = z exp(-theta / 2)``, passed as ``default_event_space_bijector``
  (line 35); lines 40-42, the ``square`` truth ``E[x²] = ones(20)``, ``Var[x²] = 2``.
  Their metric is taken on that map of each state:
  ``sampler-comparison/sampler_comparison/samplers/general.py`` line 68 (``state_transform
  = fn(model.default_event_space_bijector(state.position))``, ``fn = x**2``).
- ``JakobRobnik/MicroCanonicalHMC`` at 9b7c1b2, ``benchmarks/inference_models.py`` lines
  276-311 (``Funnel(d=20)``: the same log density, ``transform`` the same Gaussianisation,
  ``E_x2 = ones(d)``, ``Var_x2 = 2 E_x2``, "the transformed variables are standard Gaussian
  distributed"); ``benchmarks/sampling_algorithms.py`` lines 154-160 square
  ``model.transform(state.position)``.

So the metric's x is the standardised non-centered parametrisation, (v / 3, x_i exp(-v / 2)),
every coordinate N(0, 1) and independent: ``x2_coordinates`` maps essbench's parameters
(v first) to it and ``x2_moments`` gives E[z²] = 1, Var[z²] = 2 there
(:mod:`essbench.literature` applies the map before the metric). In the centered coordinates
the metric would say little: Var[x_i²] = 3 e¹⁸ - e⁹ ≈ 2·10⁸ makes an error of 10⁴ in E[x_i²]
(true value 90) a b² of 0.5. The sampler itself still moves in the centered coordinates
(theirs too: the log density above), where the funnel is hard.
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


# The MCHMC papers' funnel: d = 20 (19 x's and v), v's scale 3 (see the module docstring).
LITERATURE_DIM = 20
V_SCALE = 3.0


def x2_coordinates(draws):
    """The metric's coordinates of draws (..., dim) with v first: (v / 3, x_i exp(-v / 2)),
    their ``transform`` ("gaussianization") with theta moved to the front."""
    x = np.asarray(draws, float)
    v = x[..., :1]
    return np.concatenate([v / V_SCALE, x[..., 1:] * np.exp(-0.5 * v)], axis=-1)


def x2_moments(dim: int):
    """E[z²] = 1 and Var[z²] = 2 for every coordinate z of :func:`x2_coordinates` (each is
    N(0, 1)); their ``square`` truth (``ones(20)``, ``2 ones(20)``)."""
    return np.ones(dim), np.full(dim, 2.0)


def initial_points(dim, n, rng):
    return rng.randn(n, dim)


def sample_truth(dim, n, rng):
    v = 3.0 * rng.randn(n, 1)
    return np.hstack([v, np.exp(v / 2) * rng.randn(n, dim - 1)])
