"""The radial-velocity orbit of ``radial_velocity_logprob.py`` in plain NumPy, as most emcee
code is written (an early ``return -np.inf`` on the prior): the same log density at every
point (``tests/test_logprob.py`` checks), but JAX cannot trace it, so essbench has no
gradient for it. The gradient-free samplers (emcee, zeus, dynesty, nautilus) run it; the
gradient-based ones are refused by the config check ("needs a gradient: write `log_prob` with
`jax.numpy`"). Without ``truth``, its reference comes from nautilus on ``prior_transform``.
"""

import numpy as np
from scipy.special import erfinv, ndtri

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

DESCRIPTION = "Keplerian radial-velocity orbit as a plain NumPy log_prob (no gradient)"
PARAM_NAMES = ["log_period_x", "phase_x", "log_K", "u_1", "u_2", "gamma", "log_jitter"]

LOG_P_LO, LOG_P_HI = np.log(PERIOD_BOUNDS)
PH_LO, PH_HI = PHASE_BOUNDS
HALF_LOG_2PI = 0.5 * np.log(2.0 * np.pi)


def kepler(mean_anomaly, ecc):
    m = mean_anomaly - 2.0 * np.pi * np.floor((mean_anomaly + np.pi) / (2.0 * np.pi))
    sign = np.where(m < 0.0, -1.0, 1.0)
    m_abs = sign * m
    big_e = np.minimum(m_abs + 0.85 * ecc, np.pi)
    for _ in range(N_NEWTON):
        step = (big_e - ecc * np.sin(big_e) - m_abs) / (1.0 - ecc * np.cos(big_e))
        big_e = np.clip(big_e - step, 0.0, np.pi)
    return sign * big_e


def _interval(x, lo, hi):
    log_jac = np.log(hi - lo) - np.logaddexp(0.0, -x) - np.logaddexp(0.0, x)
    return lo + (hi - lo) / (1.0 + np.exp(-x)), log_jac


def _half_normal(x, sigma):
    return np.log(2.0) - HALF_LOG_2PI - np.log(sigma) - 0.5 * (np.exp(x) / sigma) ** 2 + x


def log_prior(theta):
    _, jac_period = _interval(theta[0], LOG_P_LO, LOG_P_HI)
    _, jac_phase = _interval(theta[1], PH_LO, PH_HI)
    lp = jac_period - np.log(LOG_P_HI - LOG_P_LO) + jac_phase - np.log(PH_HI - PH_LO)
    lp += _half_normal(theta[2], K_SIGMA) + _half_normal(theta[6], JITTER_SIGMA)
    lp += -np.log(np.pi) - 2.0 * np.log1p(theta[3] ** 2 + theta[4] ** 2)
    lp += -HALF_LOG_2PI - np.log(GAMMA_SIGMA) - 0.5 * (theta[5] / GAMMA_SIGMA) ** 2
    return lp


def log_likelihood(theta):
    log_period, _ = _interval(theta[0], LOG_P_LO, LOG_P_HI)
    phase, _ = _interval(theta[1], PH_LO, PH_HI)
    k, (u_1, u_2), gamma = np.exp(theta[2]), theta[3:5], theta[5]
    rho2 = u_1**2 + u_2**2
    ecc = rho2 / (1.0 + rho2)
    cos_w, sin_w = (u_1 / np.sqrt(rho2), u_2 / np.sqrt(rho2)) if rho2 > 0 else (1.0, 0.0)
    omega = np.arctan2(sin_w, cos_w)
    big_e = kepler(phase - omega + 2.0 * np.pi * (T - T_REF) * np.exp(-log_period), ecc)
    root = np.sqrt(1.0 - ecc**2)
    v = gamma + k * root / (1.0 - ecc * np.cos(big_e)) * (
        root * cos_w * np.cos(big_e) - sin_w * np.sin(big_e)
    )
    var = SIGMA**2 + np.exp(2.0 * theta[6])
    return np.sum(-HALF_LOG_2PI - 0.5 * np.log(var) - 0.5 * (Y - v) ** 2 / var)


def log_prob(theta):
    lp = log_prior(theta)
    if not np.isfinite(lp):
        return -np.inf
    return lp + log_likelihood(theta)


def prior_transform(u):
    ecc, omega = u[3], np.pi * (2.0 * u[4] - 1.0)
    radius = np.sqrt(ecc / (1.0 - ecc))
    return np.array(
        [
            np.log(u[0]) - np.log1p(-u[0]),
            np.log(u[1]) - np.log1p(-u[1]),
            np.log(K_SIGMA * np.sqrt(2.0) * erfinv(u[2])),
            radius * np.cos(omega),
            radius * np.sin(omega),
            GAMMA_SIGMA * ndtri(u[5]),
            np.log(JITTER_SIGMA * np.sqrt(2.0) * erfinv(u[6])),
        ]
    )


_POSTERIOR_SD = np.array([0.1, 0.03, 0.04, 0.09, 0.055, 0.6, 0.14])


def initial(rng, n):
    return true_unconstrained() + _POSTERIOR_SD * rng.standard_normal((n, 7))
