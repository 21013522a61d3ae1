"""A planet's minimum mass from its radial-velocity orbit: a worked example of a *named
quantity* (README, "Benchmark your own model").

An astronomer fits the orbit, but the number they report is the planet's minimum mass,
m sin i = K (P / 2πG)^(1/3) M_star^(2/3) (circular orbit, planet much lighter than its star):
a ``pm.Deterministic`` of the period P and the semi-amplitude K. The study's config names it
(``quantities: [m_sini]``), so every run also reports the cost per effective sample *of the
mass*, its ESS and R-hat, and whether it recovered the mass's posterior, beside the usual
numbers over the sampler's own parameters.

Data (fixed, simulated here with ``numpy.random.RandomState(SEED)``): 40 epochs over 80 days
(five to six orbits), errors of 3 m/s, a circular orbit with P = 14.2 d, K = 35 m/s,
systemic velocity 2 m/s, and 2 m/s of jitter added in quadrature; the star has one solar
mass. Model:

- log P ~ U(log 12, log 17): a window around the periodogram's one peak;
- (A, B) ~ N(0, 50²) each: v(t) = gamma + A cos(2π (t - t_ref) / P) + B sin(2π (t - t_ref) / P),
  with t_ref the middle of the data (so the phase does not swing with P); K = sqrt(A² + B²);
- gamma ~ N(0, 20²) m/s; jitter s ~ HalfNormal(5) m/s.

Parameters (the sampler's space, counted by essbench): ``log_period_interval__``, ``A``,
``B``, ``gamma``, ``jitter_log__``: five. The model's own variables: ``log_period``, ``A``,
``B``, ``gamma``, ``jitter`` and the Deterministics ``period``, ``K`` and ``m_sini``.
No closed-form posterior: the reference rule computes the truth (its draws mapped through
the model give the mass's).
"""

import numpy as np

NAME = "radial_velocity_mass"
DESCRIPTION = "circular radial-velocity orbit; named quantity: the planet's minimum mass"

SEED = 20_261_204
N_EPOCHS = 40
BASELINE = 80.0  # days
T_REF = BASELINE / 2
ERROR = 3.0  # m/s, each epoch's
TRUE = {"period": 14.2, "K": 35.0, "phase": 0.9, "gamma": 2.0, "jitter": 2.0}

G = 6.674_30e-11  # m^3 kg^-1 s^-2
M_SUN = 1.988_92e30  # kg
M_JUPITER = 1.898_13e27  # kg
DAY = 86_400.0  # s
M_STAR = 1.0  # solar masses

# The reference rule's NUTS run: 4 chains x 5,000 draws (bulk ESS > 10,000 with a margin on
# this well-conditioned posterior).
REFERENCE_NUTS = {"chains": 4, "tune": 1000, "draws": 5000, "target_accept": 0.9}


def data():
    """(t, y): the fixed simulated epochs (days) and velocities (m/s)."""
    rng = np.random.RandomState(SEED)
    t = np.sort(rng.uniform(0.0, BASELINE, N_EPOCHS))
    angle = 2 * np.pi * (t - T_REF) / TRUE["period"] + TRUE["phase"]
    v = TRUE["gamma"] + TRUE["K"] * np.sin(angle)
    scatter = np.hypot(ERROR, TRUE["jitter"])
    return t, v + scatter * rng.randn(N_EPOCHS)


def minimum_mass(period_days, semi_amplitude):
    """m sin i in Jupiter masses of a planet on a circular orbit of a star of M_STAR solar
    masses (planet mass << star mass); works on numbers and on PyTensor graphs."""
    scale = (DAY / (2 * np.pi * G)) ** (1 / 3) * (M_STAR * M_SUN) ** (2 / 3) / M_JUPITER
    return scale * semi_amplitude * period_days ** (1 / 3)


def build_model():
    import pymc as pm

    t, y = data()
    with pm.Model() as model:
        log_period = pm.Uniform("log_period", np.log(12.0), np.log(17.0))
        period = pm.Deterministic("period", pm.math.exp(log_period))
        a = pm.Normal("A", 0.0, 50.0)
        b = pm.Normal("B", 0.0, 50.0)
        gamma = pm.Normal("gamma", 0.0, 20.0)
        jitter = pm.HalfNormal("jitter", 5.0)
        k = pm.Deterministic("K", pm.math.sqrt(a**2 + b**2))
        pm.Deterministic("m_sini", minimum_mass(period, k))
        angle = 2 * np.pi * (t - T_REF) / period
        v = gamma + a * pm.math.cos(angle) + b * pm.math.sin(angle)
        pm.Normal("y", v, pm.math.sqrt(ERROR**2 + jitter**2), observed=y)
    return model
