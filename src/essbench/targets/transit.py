"""A planet's transits fitted to a fixed simulated light curve with white noise: 8 parameters.

Data (fixed: ``numpy.random.RandomState(SEED)``, built once per option set): ``n_obs`` flux
measurements on a regular cadence in three windows of +-0.2 d around the transits at epochs
-1, 0 and 1 (the middle one at the reference time t0), split evenly between the windows. Each
has the reported error ``noise`` (relative flux) and the scatter sqrt(noise^2 + jitter^2) with
jitter = noise: the light curve is sqrt(2) noisier than its error bars say. The generating
planet: period P = 3.8537 d, t0 = 0.0042 d, radius ratio r = 0.09, impact parameter b = 0.45,
Kipping's limb-darkening coefficients q1 = 0.4225, q2 = 0.3077 (u1 = 0.4, u2 = 0.25: a Sun-like
star), stellar density 1.41 g/cm^3 (a / R_* = 10.34, a 2.58 h transit). The orbit's
eccentricity e = 0.1 and argument of periastron omega = 1.2 rad are fixed, as if known from
radial velocities. Fluxes are instantaneous (no exposure-time integration) and 1 out of transit.

Model, parametrised as an astronomer samples a transit (Kipping 2013; the exoplanet and juliet
packages), every prior independent, univariate and invertible (``PRIOR = "model"``):

- period ~ N(3.85, 0.01) d and t0 ~ N(0, 0.01) d, around a transit search's values (the
  period's aliases, P/2 and 2P, are hundreds of prior standard deviations away), sampled as
  standard scores period_z and t0_z;
- ror ~ U(0.01, 0.5): the radius ratio R_p / R_*;
- b ~ U(0, 1): the impact parameter (non-grazing);
- q1, q2 ~ U(0, 1): Kipping's parametrisation of the quadratic law, u1 = 2 sqrt(q1) q2 and
  u2 = sqrt(q1) (1 - 2 q2), uniform over the physically allowed (u1, u2);
- log_duration ~ U(log 1 h, log 12 h): the first-to-fourth-contact duration T in Winn's
  (2010, eqs. 14 and 16) form, which fixes a / R_* (and so the stellar density, by Kepler's
  third law) given P, r and b. The data pin T down, while the density is correlated with b
  (-0.84): sampling T rather than the density halves NUTS's trees (31 leapfrog steps
  against 61, PyMC at target_accept 0.9 and noise 1e-3) for the same ESS per draw;
- log_jitter ~ N(log noise, 2): white noise added in quadrature to the reported errors.

The light curve is built on exoplanet-core's ops, which carry their own gradients: its Kepler
solver (sin and cos of the true anomaly f from the mean anomaly) places the planet at
(x, y) = -r_orb (cos(omega + f), sin(omega + f) cos i) on the sky, in front of the star where
sin(omega + f) > 0; its quadratic limb-darkening solution vector (Agol et al. 2020) at the
projected separation gives the occulted flux; b = (a / R_*) cos i (1 - e^2) / (1 + e sin omega).

exoplanet-core's ops run in Python (``perform``: no C code; Numba calls them in object mode)
or through their JAX implementations (dispatch registered by exoplanet-core). So the target
declares ``BACKENDS = ("numba", "jax")``: the config check refuses ``backend: c`` (the C linker
needs C code for every op) and any sampler whose own backend is not in the list.

No closed-form posterior moments: the ``reference`` rule computes them with long gated NUTS
runs. Parameters are the model's value variables: period_z, t0_z, ror_interval__,
b_interval__, q1_interval__, q2_interval__, log_duration_interval__, log_jitter.
"""

from functools import cache

import numpy as np

from essbench.options import Option

NAME = "transit"
DESCRIPTION = (
    "a planet's transits fitted to a simulated light curve (exoplanet-core), 8 parameters"
    " (reference)"
)
GRADIENT = True
MIN_DIM = 8
MAX_DIM = 8
TRUTH = "reference"
PRIOR = "model"
PACKAGES = ("exoplanet-core",)
# PyTensor backends its ops compile with (exoplanet-core's ops have no C code).
BACKENDS = ("numba", "jax")
N_OBS = 300
NOISE = 5e-4
OPTIONS = (
    Option("n_obs", int, N_OBS, "flux measurements, split evenly over three transits", low=30),
    Option(
        "noise",
        float,
        NOISE,
        "reported error of each measurement (relative flux); the simulated scatter adds an"
        " equal jitter in quadrature",
        low=1e-5,
        high=1e-2,
    ),
)
# The reference run: 4 chains x 13,000 draws after 1,000 warm-up steps, target_accept 0.95.
# PyMC's NUTS reaches a bulk ESS of 0.25 to 0.3 per draw on the worst parameters (ror and b,
# correlated 0.8), so 52,000 draws leave a margin over the 10,000 gate. At target_accept 0.9
# (noise 1e-3) it diverged about once in 10,000 draws, in the ridge's tail towards high b.
REFERENCE_NUTS = {"chains": 4, "tune": 1000, "draws": 13_000, "target_accept": 0.95}

SEED = 20_261_117
EPOCHS = (-1, 0, 1)
HALF_WINDOW = 0.2  # days either side of each transit
TRUE = {
    "period": 3.8537,  # d
    "t0": 0.0042,  # d
    "ror": 0.09,
    "b": 0.45,
    "q1": 0.4225,
    "q2": 0.3077,
    "rho_star": 1.41,  # g/cm^3 (the simulation's; the model samples the duration)
}
ECC = 0.1
OMEGA = 1.2  # rad
PERIOD_PRIOR = (3.85, 0.01)  # mean, sd (d)
T0_PRIOR = (0.0, 0.01)
ROR_BOUNDS = (0.01, 0.5)
LOG_DURATION_BOUNDS = (np.log(1.0 / 24.0), np.log(0.5))  # 1 h to 12 h
LOG_JITTER_SD = 2.0
G_CGS = 6.674_30e-8  # cm^3 g^-1 s^-2 (CODATA 2018)
DAY = 86_400.0  # s


def limb_darkening(q1, q2):
    """Quadratic-law (u1, u2) from Kipping's (q1, q2) in (0, 1)^2 (works on tensors too)."""
    root = q1**0.5
    return 2.0 * root * q2, root * (1.0 - 2.0 * q2)


def a_over_rstar(period, rho_star):
    """Kepler's third law: a / R_* = (G rho_* P^2 / (3 pi))^(1/3), P in days, rho_* in g/cm^3."""
    return (G_CGS * rho_star * (period * DAY) ** 2 / (3.0 * np.pi)) ** (1.0 / 3.0)


# b = (a / R_*) cos i x IMPACT_FACTOR; Winn's duration carries DURATION_FACTOR.
IMPACT_FACTOR = (1.0 + ECC * np.sin(OMEGA)) / (1.0 - ECC**2)
DURATION_FACTOR = np.sqrt(1.0 - ECC**2) / (1.0 + ECC * np.sin(OMEGA))


def duration(period, ror, b, a, xp=np):
    """Winn's (2010, eqs. 14 and 16) first-to-fourth-contact duration (days) for a / R_* =
    ``a``: exact for a circular orbit, an approximation for an eccentric one; ``xp``: numpy
    or pytensor.tensor."""
    a_sin_i = xp.sqrt(a**2 - (b * IMPACT_FACTOR) ** 2)
    return period / np.pi * xp.arcsin(xp.sqrt((1.0 + ror) ** 2 - b**2) / a_sin_i) * DURATION_FACTOR


def a_from_duration(period, t14, ror, b, xp=np):
    """a / R_* for which Winn's duration is ``t14`` days (the inverse of :func:`duration`)."""
    a_sin_i = xp.sqrt((1.0 + ror) ** 2 - b**2) / xp.sin(np.pi * t14 / (period * DURATION_FACTOR))
    return xp.sqrt(a_sin_i**2 + (b * IMPACT_FACTOR) ** 2)


def _transit_mean_anomaly() -> float:
    """The mean anomaly at mid-transit, where the true anomaly is f = pi/2 - omega."""
    big_e = 2.0 * np.arctan2(
        np.sqrt(1.0 - ECC) * np.cos(OMEGA), np.sqrt(1.0 + ECC) * (1.0 + np.sin(OMEGA))
    )
    return big_e - ECC * np.sin(big_e)


M_TRANSIT = _transit_mean_anomaly()


def times(n_obs: int) -> np.ndarray:
    """The observation times (d): a regular cadence in each window, windows split n_obs."""
    counts = np.diff(np.linspace(0, n_obs, len(EPOCHS) + 1).round().astype(int))
    centres = TRUE["t0"] + TRUE["period"] * np.array(EPOCHS)
    return np.concatenate(
        [
            np.linspace(c - HALF_WINDOW, c + HALF_WINDOW, k)
            for c, k in zip(centres, counts, strict=True)
        ]
    )


def kepler_numpy(mean_anomaly, ecc, steps: int = 50) -> np.ndarray:
    """Eccentric anomaly by plain Newton iteration (the simulation's own, not exoplanet-core's)."""
    m = np.mod(np.asarray(mean_anomaly, dtype=float) + np.pi, 2.0 * np.pi) - np.pi
    big_e = m + ecc * np.sin(m)
    for _ in range(steps):
        big_e = big_e - (big_e - ecc * np.sin(big_e) - m) / (1.0 - ecc * np.cos(big_e))
    return big_e


def separation_numpy(t, period, t0, b, a):
    """Projected star-planet separation (stellar radii) at times ``t``, and whether the planet
    is in front of the star; ``a``: a / R_*."""
    cos_i = b * IMPACT_FACTOR / a
    big_e = kepler_numpy(2.0 * np.pi * (np.asarray(t) - t0) / period + M_TRANSIT, ECC)
    half = big_e / 2.0
    f = 2.0 * np.arctan2(np.sqrt(1.0 + ECC) * np.sin(half), np.sqrt(1.0 - ECC) * np.cos(half))
    r_orb = a * (1.0 - ECC**2) / (1.0 + ECC * np.cos(f))
    x = -r_orb * np.cos(OMEGA + f)
    y = -r_orb * np.sin(OMEGA + f) * cos_i
    return np.hypot(x, y), np.sin(OMEGA + f) > 0.0


def flux_numpy(t, period, t0, ror, b, q1, q2, a) -> np.ndarray:
    """The relative flux (1 out of transit) at times ``t``: exoplanet-core's numpy light curve
    on this module's own orbit (the simulation's)."""
    from exoplanet_core import quad_limbdark_light_curve

    sep, front = separation_numpy(t, period, t0, b, a)
    u1, u2 = limb_darkening(q1, q2)
    return 1.0 + quad_limbdark_light_curve(u1, u2, np.where(front, sep, 2.0 + ror), ror)


TRUE_A = a_over_rstar(TRUE["period"], TRUE["rho_star"])
TRUE_DURATION = duration(TRUE["period"], TRUE["ror"], TRUE["b"], TRUE_A)


@cache
def simulate(n_obs: int = N_OBS, noise: float = NOISE):
    """The fixed data set: (times, observed fluxes); the scatter is sqrt(2) x ``noise``."""
    rng = np.random.RandomState(SEED)
    t = times(n_obs)
    planet = (TRUE[k] for k in ("period", "t0", "ror", "b", "q1", "q2"))
    clean = flux_numpy(t, *planet, TRUE_A)
    return t, clean + rng.randn(n_obs) * noise * np.sqrt(2.0)


def light_curve(t, period, t0, ror, b, q1, q2, a):
    """PyTensor graph of the relative flux at the times ``t`` (a numpy array) for scalar
    tensor parameters; ``a``: a / R_*."""
    import pytensor.tensor as pt
    from exoplanet_core.pymc import ops

    cos_i = b * IMPACT_FACTOR / a
    mean_anomaly = 2.0 * np.pi * (t - t0) / period + M_TRANSIT
    # exoplanet-core's Kepler op wants e with the shape of M; it returns (sin f, cos f).
    sin_f, cos_f = ops.kepler(mean_anomaly, pt.zeros_like(mean_anomaly) + ECC)
    r_orb = a * (1.0 - ECC**2) / (1.0 + ECC * cos_f)
    cos_wf = np.cos(OMEGA) * cos_f - np.sin(OMEGA) * sin_f
    sin_wf = np.sin(OMEGA) * cos_f + np.cos(OMEGA) * sin_f
    sep = r_orb * pt.sqrt(cos_wf**2 + (sin_wf * cos_i) ** 2)
    # Behind the star (sin(omega + f) < 0) nothing is occulted: move it out of contact.
    sep = pt.switch(pt.gt(sin_wf, 0.0), sep, 2.0 + ror)
    return limb_darkened_flux(sep, ror, *limb_darkening(q1, q2))


def limb_darkened_flux(sep, ror, u1, u2):
    """PyTensor graph of the flux (1 unocculted) of a quadratically limb-darkened star,
    I(mu) = 1 - u1 (1 - mu) - u2 (1 - mu)^2, behind a planet of radius ratio ``ror`` at
    projected separations ``sep``: exoplanet-core's solution vector s(sep, ror) (Agol et al.
    2020) dotted with the law's Green's-basis coefficients c."""
    import pytensor.tensor as pt
    from exoplanet_core.pymc import ops

    c0, c1, c2 = 1.0 - u1 - 1.5 * u2, u1 + 2.0 * u2, -0.25 * u2
    s = ops.quad_solution_vector(sep, pt.zeros_like(sep) + ror)
    return (s[..., 0] * c0 + s[..., 1] * c1 + s[..., 2] * c2) / (np.pi * (c0 + c1 / 1.5))


def build_model(dim: int = 8, n_obs: int = N_OBS, noise: float = NOISE):
    import pymc as pm
    import pytensor.tensor as pt

    t, y = simulate(n_obs, noise)
    with pm.Model() as model:
        # period ~ N(3.85, 0.01) and t0 ~ N(0, 0.01), sampled as standard scores: the
        # samplers' starting jitter, U(-1, 1) per value variable, then moves a transit by at
        # most 0.02 d (a sixth of its duration), not by days (into another period's mode).
        period = PERIOD_PRIOR[0] + PERIOD_PRIOR[1] * pm.Normal("period_z")
        t0 = T0_PRIOR[0] + T0_PRIOR[1] * pm.Normal("t0_z")
        ror = pm.Uniform("ror", *ROR_BOUNDS)
        b = pm.Uniform("b", 0.0, 1.0)
        q1 = pm.Uniform("q1", 0.0, 1.0)
        q2 = pm.Uniform("q2", 0.0, 1.0)
        log_duration = pm.Uniform("log_duration", *LOG_DURATION_BOUNDS)
        log_jitter = pm.Normal("log_jitter", np.log(noise), LOG_JITTER_SD)
        a = a_from_duration(period, pt.exp(log_duration), ror, b, xp=pt)
        flux = light_curve(t, period, t0, ror, b, q1, q2, a)
        pm.Normal("flux", flux, pt.sqrt(noise**2 + pt.exp(2.0 * log_jitter)), observed=y)
    return model


def _logit(x, lower, upper):
    p = (x - lower) / (upper - lower)
    return np.log(p) - np.log1p(-p)


def true_unconstrained(noise: float = NOISE) -> np.ndarray:
    """The generating planet in the samplers' (value-variable) space."""
    return np.array(
        [
            (TRUE["period"] - PERIOD_PRIOR[0]) / PERIOD_PRIOR[1],
            (TRUE["t0"] - T0_PRIOR[0]) / T0_PRIOR[1],
            _logit(TRUE["ror"], *ROR_BOUNDS),
            _logit(TRUE["b"], 0.0, 1.0),
            _logit(TRUE["q1"], 0.0, 1.0),
            _logit(TRUE["q2"], 0.0, 1.0),
            _logit(np.log(TRUE_DURATION), *LOG_DURATION_BOUNDS),
            np.log(noise),
        ]
    )


# Rough posterior standard deviations in value-variable space (default options).
_POSTERIOR_SD = np.array([0.04, 0.03, 0.03, 0.5, 1.0, 1.5, 0.025, 0.08])


def initial_points(dim, n, rng, n_obs=N_OBS, noise=NOISE):
    """Walkers around the generating planet, spread like the posterior (its bulk)."""
    return true_unconstrained(noise) + _POSTERIOR_SD * rng.randn(n, 8)
