"""A radial-velocity orbit written the way an astronomer writes it for emcee: a plain
``log_prob(theta)``, here with ``jax.numpy`` so that essbench can also differentiate it.

The same posterior as the shipped PyMC target ``radial_velocity`` (its module docstring has
the model): the same simulated data (imported from it below: your own file would load yours,
e.g. with ``np.loadtxt``), the same priors, Kepler's equation solved by the same Newton steps,
and the same seven parameters, in the same order and space as the PyMC model's value
variables (``tests/test_logprob.py`` checks that the two log densities agree at random points
up to a constant):

    theta = [logit of log P in its window, logit of the phase in (-pi, pi), log K,
             u_1, u_2 (sqrt(e) (cos omega, sin omega) = u / sqrt(1 + |u|^2)), gamma, log s]

Every coordinate is unconstrained, and each transform's log-Jacobian is in ``log_prior``
(samplers move in theta, so the density must be theta's). ``prior_transform(u)`` and
``log_likelihood(theta)`` let the nested samplers (dynesty, nautilus) run it too; ``initial``
starts chains and walkers near the generating orbit, as the shipped target's ones do.

Everything JAX does happens inside the functions: importing this file starts no JAX backend.
"""

import jax
import jax.numpy as jnp
import numpy as np
from jax.scipy.special import erfinv, ndtri

from essbench.targets.radial_velocity import (
    GAMMA_SIGMA,
    JITTER_SIGMA,
    K_SIGMA,
    N_NEWTON,
    PERIOD_BOUNDS,
    PHASE_BOUNDS,
    SIGMA,
    T_REF,
    T,
    Y,
    true_unconstrained,
)

DESCRIPTION = "Keplerian radial-velocity orbit as a plain JAX log_prob (radial_velocity's twin)"
PARAM_NAMES = ["log_period_x", "phase_x", "log_K", "u_1", "u_2", "gamma", "log_jitter"]
# No truth(): the reference rule runs JAX NUTS on log_prob (4 chains x 6,000 draws, as the
# PyMC twin's reference).
REFERENCE_NUTS = {"chains": 4, "tune": 1000, "draws": 6000, "target_accept": 0.9}

LOG_P_LO, LOG_P_HI = np.log(PERIOD_BOUNDS)
PH_LO, PH_HI = PHASE_BOUNDS
HALF_LOG_2PI = 0.5 * np.log(2.0 * np.pi)


def kepler(mean_anomaly, ecc):
    """Eccentric anomaly E with M = E - e sin E: Newton's method on |M| in [0, pi] from
    Danby's start E = |M| + 0.85 e, then E takes the sign of M."""
    m = mean_anomaly - 2.0 * jnp.pi * jnp.floor((mean_anomaly + jnp.pi) / (2.0 * jnp.pi))
    sign = jnp.where(m < 0.0, -1.0, 1.0)
    m_abs = sign * m

    def newton(_, big_e):
        step = (big_e - ecc * jnp.sin(big_e) - m_abs) / (1.0 - ecc * jnp.cos(big_e))
        return jnp.clip(big_e - step, 0.0, jnp.pi)

    start = jnp.minimum(m_abs + 0.85 * ecc, jnp.pi)
    return sign * jax.lax.fori_loop(0, N_NEWTON, newton, start)


def _interval(x, lo, hi):
    """A value in (lo, hi) from an unconstrained x, and the log-Jacobian of the map."""
    log_jac = jnp.log(hi - lo) - jnp.logaddexp(0.0, -x) - jnp.logaddexp(0.0, x)
    return lo + (hi - lo) / (1.0 + jnp.exp(-x)), log_jac


def _half_normal(x, sigma):
    """log density of exp(x) ~ HalfNormal(sigma), with the Jacobian exp(x)."""
    value = jnp.exp(x)
    return jnp.log(2.0) - HALF_LOG_2PI - jnp.log(sigma) - 0.5 * (value / sigma) ** 2 + x


def velocity(theta):
    log_period, _ = _interval(theta[0], LOG_P_LO, LOG_P_HI)
    phase, _ = _interval(theta[1], PH_LO, PH_HI)
    k = jnp.exp(theta[2])
    u_1, u_2, gamma = theta[3], theta[4], theta[5]
    rho2 = u_1**2 + u_2**2
    ecc = rho2 / (1.0 + rho2)
    # omega is undefined at u = 0 (e = 0, where v does not depend on it): 0 there.
    nonzero = rho2 > 0.0
    rho = jnp.sqrt(jnp.where(nonzero, rho2, 1.0))
    cos_w = jnp.where(nonzero, u_1 / rho, 1.0)
    sin_w = jnp.where(nonzero, u_2 / rho, 0.0)
    omega = jnp.arctan2(sin_w, cos_w)
    mean_anomaly = phase - omega + 2.0 * jnp.pi * (T - T_REF) * jnp.exp(-log_period)
    big_e = kepler(mean_anomaly, ecc)
    root = jnp.sqrt(1.0 - ecc**2)
    cos_e, sin_e = jnp.cos(big_e), jnp.sin(big_e)
    return gamma + k * root / (1.0 - ecc * cos_e) * (root * cos_w * cos_e - sin_w * sin_e)


def log_prior(theta):
    """Uniform log P and phase in their windows, K ~ HalfNormal(50), u ~ MvStudentT(2, 0,
    I/2) (uniform e and omega), gamma ~ N(0, 20), s ~ HalfNormal(10): with the Jacobians."""
    _, jac_period = _interval(theta[0], LOG_P_LO, LOG_P_HI)
    _, jac_phase = _interval(theta[1], PH_LO, PH_HI)
    lp = jac_period - jnp.log(LOG_P_HI - LOG_P_LO) + jac_phase - jnp.log(PH_HI - PH_LO)
    lp += _half_normal(theta[2], K_SIGMA) + _half_normal(theta[6], JITTER_SIGMA)
    lp += -jnp.log(jnp.pi) - 2.0 * jnp.log1p(theta[3] ** 2 + theta[4] ** 2)
    lp += -HALF_LOG_2PI - jnp.log(GAMMA_SIGMA) - 0.5 * (theta[5] / GAMMA_SIGMA) ** 2
    return lp


def log_likelihood(theta):
    var = SIGMA**2 + jnp.exp(2.0 * theta[6])
    resid = Y - velocity(theta)
    return jnp.sum(-HALF_LOG_2PI - 0.5 * jnp.log(var) - 0.5 * resid**2 / var)


def log_prob(theta):
    return log_prior(theta) + log_likelihood(theta)


def prior_transform(u):
    """A point of the unit cube to theta, drawn exactly from the prior (for dynesty and
    nautilus): the inverse CDF of each prior, e = u_4 and omega = pi (2 u_5 - 1) for the pair."""
    ecc, omega = u[3], jnp.pi * (2.0 * u[4] - 1.0)
    radius = jnp.sqrt(ecc / (1.0 - ecc))
    return jnp.stack(
        [
            jnp.log(u[0]) - jnp.log1p(-u[0]),
            jnp.log(u[1]) - jnp.log1p(-u[1]),
            jnp.log(K_SIGMA * jnp.sqrt(2.0) * erfinv(u[2])),
            radius * jnp.cos(omega),
            radius * jnp.sin(omega),
            GAMMA_SIGMA * ndtri(u[5]),
            jnp.log(JITTER_SIGMA * jnp.sqrt(2.0) * erfinv(u[6])),
        ]
    )


# Rough posterior standard deviations of theta (the PyMC twin's reference run).
_POSTERIOR_SD = np.array([0.1, 0.03, 0.04, 0.09, 0.055, 0.6, 0.14])


def initial(rng, n):
    """Walkers and chains around the generating orbit, spread like the posterior."""
    return true_unconstrained() + _POSTERIOR_SD * rng.standard_normal((n, 7))
