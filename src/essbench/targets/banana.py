"""Haario's banana (twisted Gaussian): x1 ~ N(0, 10²), x2 | x1 ~ N(b (100 - x1²), 1), the rest
N(0, 1). Truth: means 0; Var(x1) = 100, Var(x2) = 1 + 2·10⁴ b², the rest 1.

The MCHMC papers' banana is this target at d = 2, b = 0.03, reflected (x2 -> -x2: their
x2 | x1 ~ N(0.03 (x1² - 100), 1)). Reflecting x2 maps one density onto the other, so every
sampler behaves the same on both and every moment of x² is the same; their metric is taken
on the parameters themselves (the identity map). Read, not copied:

- ``reubenharry/sampler-benchmarks`` at 7ad0700 (unchanged since 75c09b7, 2025-05-15, the
  NeurIPS submission that wrote the published figure):
  ``sampler-evaluation/sampler_evaluation/models/banana.py`` lines 13-58, the Inference
  Gym's ``Banana(dtype=float64)`` (line 15; ``tensorflow/probability`` @ 2297429,
  ``spinoffs/inference_gym/inference_gym/targets/banana.py``: ``ndims=2``,
  ``curvature=0.03``, ``x[0] ~ Normal(0, 10)``, ``x[1] ~ Normal(curvature * (x[0]**2 -
  100), 1)``), its ``exact_sample`` (lines 52-56) the same; the ``square`` truth (lines
  28-41) from ``data/banana_expectations.pkl`` (10⁶ draws, ``estimate_expectations_banana.py``):
  E[x²] = (100.064, 19.0186), Var[x²] = (20017.0, 4624.37), within 0.4% of the exact
  (100, 19), (20000, 4610) of :func:`x2_moments` (near b² = 0.01 the difference moves b²
  by about 1%).
  ``models/banana_mams_paper.py`` lines 9-35 is the same density with E[x²] = (100, 19),
  Var[x²] = (20000, 4600.898) (10⁸ draws) and a wide start, N(0, diag(20, 10)²).
- ``JakobRobnik/MicroCanonicalHMC`` at 9b7c1b2, ``benchmarks/inference_models.py`` lines
  114-143 (``Banana``: ``ndims = 2``, ``curvature = 0.03``, the same log density,
  ``transform`` the identity, ``E_x2 = [100, 19]``, ``Var_x2 = [20000, 4600.898]``).
"""

import numpy as np

from essbench.options import Option
from essbench.targets import Truth

NAME = "banana"
DESCRIPTION = "Haario's twisted Gaussian (Rosenbrock-type banana), twist `b`"
GRADIENT = True
MIN_DIM = 2
# One mode: a smooth bijection of a Gaussian (x2 shifted by b(x1^2 - 100)), whose
# density's one stationary point is the image of the Gaussian's mode.
MODES = 1
MAX_DIM = None
DEFAULT_B = 0.03
# The MCHMC papers' banana: d = 2 at the default twist (see the module docstring).
LITERATURE_DIM = 2
OPTIONS = (Option("b", float, DEFAULT_B, "twist of Haario's banana (0: a Gaussian)", low=0.0),)
PACKAGES = ()
# Nested samplers: the density is normalised (x2 | x1 is a shifted normal); the box holds x1
# within +-8 sd (+-80), x2 within 8 sd of its conditional mean for every such x1, the rest
# within +-8: at most dim x 2 Phi(-8) = dim x 1.2e-15 of the mass lies outside.
LOG_NORMALISER = 0.0
BOX_SDS = 8.0

# ``rest`` is empty at d = 2, where the PyMC model has no such variable.
STAN_PROGRAM = """
data {
  int<lower=2> d;
  real<lower=0> b;
}
parameters {
  real x1;
  real x2;
  vector[d - 2] rest;
}
model {
  x1 ~ normal(0, 10);
  x2 ~ normal(b * (100 - square(x1)), 1);
  rest ~ std_normal();
}
"""


def stan_data(dim: int, b: float = DEFAULT_B) -> dict:
    return {"d": dim, "b": b}


def build_model(dim: int, b: float = DEFAULT_B):
    import pymc as pm

    with pm.Model() as model:
        x1 = pm.Normal("x1", 0.0, 10.0)
        pm.Normal("x2", b * (100.0 - x1**2), 1.0)
        if dim > 2:
            pm.Normal("rest", 0.0, 1.0, shape=dim - 2)
    return model


def truth(dim: int, b: float = DEFAULT_B) -> Truth:
    var = np.ones(dim)
    var[0] = 100.0
    var[1] = 1.0 + 2.0e4 * b**2
    return Truth(mean=np.zeros(dim), var=var)


def x2_moments(dim: int, b: float = DEFAULT_B):
    """E[x²] and Var[x²] (essbench.literature's metric). x1² = 100 u, u ~ χ²₁; x2 = -a (u - 1)
    + z with a = 100 b, z ~ N(0, 1), so E[x2²] = 1 + 2 a² and, from χ²₁'s central moments
    (2, 8, 60), Var[x2²] = 56 a⁴ + 8 a² + 2: 4,610 at b = 0.03. The MAMS paper's banana
    (reubenharry/sampler-benchmarks @ 7ad0700, sampler-evaluation/sampler_evaluation/
    models/banana_mams_paper.py; d = 2, curvature 0.03, x2 ~ N(0.03 (x1² - 100), 1): this
    target reflected, x2 -> -x2, which leaves every x² moment as it is) declares E[x²] =
    (100, 19) and Var[x²] = (20000, 4600.898), the latter from 10⁸ draws: 0.2% below the
    exact 4,610."""
    a = 100.0 * b
    e_x2, var_x2 = np.ones(dim), np.full(dim, 2.0)
    e_x2[0], var_x2[0] = 100.0, 2.0e4
    e_x2[1], var_x2[1] = 1.0 + 2.0 * a**2, 56.0 * a**4 + 8.0 * a**2 + 2.0
    return e_x2, var_x2


def prior_box(dim, b=DEFAULT_B):
    half = np.full(dim, BOX_SDS)
    half[0] = BOX_SDS * 10.0
    low, high = -half, half.copy()
    # x2's conditional mean b (100 - x1^2) runs from b (100 - 80^2) to 100 b.
    low[1] = b * (100.0 - half[0] ** 2) - BOX_SDS
    high[1] = 100.0 * b + BOX_SDS
    return low, high


PRIOR = prior_box


def initial_points(dim, n, rng, b=DEFAULT_B):
    return rng.randn(n, dim)


def sample_truth(dim, n, rng, b=DEFAULT_B):
    x = rng.randn(n, dim)
    x[:, 0] *= 10.0
    x[:, 1] += b * (100.0 - x[:, 0] ** 2)
    return x
