"""posteriordb's ``mcycle_gp-accel_gp``: motorcycle-crash acceleration, a heteroscedastic
Gaussian process by brms with Hilbert-space (basis-function) approximations.

Y_i ~ N(mu_i, sigma_i) for 133 accelerations, mu = Intercept + Xgp_1 (sqrt(spd_1) zgp_1)
with 40 basis functions, log sigma = Intercept_sigma + Xgp_sigma_1 (sqrt(spd_sigma_1)
zgp_sigma_1) with 20, spd(s) = sdgp^2 sqrt(2 pi) lscale exp(-lscale^2 s^2 / 2) the
squared-exponential kernel's spectral density at the basis' square-root eigenvalues s.
Priors as brms wrote them: Intercept ~ t3(-13, 36), Intercept_sigma ~ t3(0, 10), sdgp_1,
sdgp_sigma_1 ~ half-t3(0, 36), lscale_1, lscale_sigma_1 ~ InvGamma(1.124909, 0.0177),
zgp ~ N(0, 1). Parameters, in Stan's unconstrained space (Stan's order): Intercept,
log sdgp_1, log lscale_1, zgp_1[0..39], Intercept_sigma, log sdgp_sigma_1,
log lscale_sigma_1, zgp_sigma_1[0..19].

posteriordb's reference draws of this posterior are absent from snapshot 28f8d3d (its mean
and mean-square summaries are vendored, and tests/test_posteriordb_ports.py checks a run
against them): the reference rule computes its moments.
"""

import numpy as np

from essbench import posteriordb

NAME = "accel_gp"
POSTERIOR = "mcycle_gp-accel_gp"
DESCRIPTION = (
    "posteriordb: motorcycle acceleration, heteroscedastic basis-function Gaussian "
    "process (66 parameters)"
)
KIND = "Gaussian process"
OPTIONS = ()
MIN_DIM = MAX_DIM = 66
TRUTH = "reference"
PRIOR = "model"  # every prior proper, univariate, with an inverse CDF (nested samplers)
STAN_PROGRAM = posteriordb.stan_code(POSTERIOR)
# Measured here with PyMC NUTS (one chain, seed 2): after 500 warm-up steps at target_accept
# 0.9 a chain stuck (13 divergences, R-hat 2.2); after 1,000 at 0.99, no divergence, tree
# depth up to 10, bulk ESS >= 320 per 1,000 draws, so 4 x 15,000 draws clear the gate's
# bulk ESS of 10,000 with room. The posteriordb study's reference at 4 x (2,000 + 15,000)
# at 0.99 took 1,109 s on 2 cores and failed the divergence gate by one divergence in 60,000
# draws. At 4 x (4,000 + 15,000) at 0.995 (1,167 s): no divergence, but the smallest bulk
# ESS was 7,247, under the gate's 10,000 (tree depth 10 reached in every chain): bulk ESS
# grows with the draws, so 25,000 per chain was expected to give about 12,000. It did not:
# at 4 x (4,000 + 25,000) at 0.995 (2,196 s, 2026-12-02) the smallest bulk ESS was 9,085,
# and every chain reached the maximum tree depth (as Stan's NUTS does here at a cap of 10).
# A cap of 12 (tried 2026-12-03) cost about 85 CPU-minutes a chain, against about 18 at 10,
# so it was stopped after two chains. More chains instead: at 8 x (4,000 + 20,000) at 0.995
# and the cap of 10 (2026-12-03, 3,449 s of sampling, 58 minutes of wall on 2 cores) the
# gates passed: R-hat 1.0003, no divergence, smallest bulk ESS 21,051 (tail 15,689). Its
# moments of the 62 parameters sampled untransformed agree with posteriordb's summary
# statistics (benchmarks/reference_check.py: largest |z| 2.19 for a mean, 2.87 for a mean
# square, root mean square 0.82 and 0.97).
REFERENCE_NUTS = {
    "chains": 8,
    "tune": 4000,
    "draws": 20_000,
    "target_accept": 0.995,
}
REFERENCE_MINUTES = 180  # three times the hour it took on 2 cores here
LSCALE_PRIOR = (1.124909, 0.0177)  # brms' inv_gamma(alpha, beta) for both length-scales


def stan_data(dim: int) -> dict:
    return posteriordb.data(POSTERIOR)


def _approximate_gp(basis, sqrt_eigenvalues, sdgp, lscale, z):
    """brms' ``gpa``: basis (sqrt(spd) z), spd the 1-D squared-exponential spectral
    density at the square-root eigenvalues (Stan's ``spd_cov_exp_quad``, D = 1)."""
    import pytensor.tensor as pt

    spd = sdgp**2 * np.sqrt(2 * np.pi) * lscale * pt.exp(-0.5 * lscale**2 * sqrt_eigenvalues**2)
    return basis @ (pt.sqrt(spd) * z)


def build_model(dim: int = 66):
    import pymc as pm
    import pytensor.tensor as pt

    data = posteriordb.data(POSTERIOR)
    if int(data["Dgp_1"]) != 1 or int(data["Dgp_sigma_1"]) != 1:
        raise ValueError("accel_gp's port handles one-dimensional GPs only (Dgp = 1)")
    y = np.asarray(data["Y"], float)
    basis = np.asarray(data["Xgp_1"], float)
    basis_sigma = np.asarray(data["Xgp_sigma_1"], float)
    s = np.asarray(data["slambda_1"], float)[:, 0]
    s_sigma = np.asarray(data["slambda_sigma_1"], float)[:, 0]
    a, b = LSCALE_PRIOR
    with pm.Model() as model:
        intercept = pm.StudentT("Intercept", nu=3, mu=-13.0, sigma=36.0)
        sdgp = pm.HalfStudentT("sdgp_1", nu=3, sigma=36.0)
        lscale = pm.InverseGamma("lscale_1", alpha=a, beta=b)
        zgp = pm.Normal("zgp_1", 0.0, 1.0, shape=basis.shape[1])
        intercept_sigma = pm.StudentT("Intercept_sigma", nu=3, mu=0.0, sigma=10.0)
        sdgp_sigma = pm.HalfStudentT("sdgp_sigma_1", nu=3, sigma=36.0)
        lscale_sigma = pm.InverseGamma("lscale_sigma_1", alpha=a, beta=b)
        zgp_sigma = pm.Normal("zgp_sigma_1", 0.0, 1.0, shape=basis_sigma.shape[1])
        mu = intercept + _approximate_gp(basis, s, sdgp, lscale, zgp)
        log_sigma = intercept_sigma + _approximate_gp(
            basis_sigma, s_sigma, sdgp_sigma, lscale_sigma, zgp_sigma
        )
        pm.Normal("Y", mu, pt.exp(log_sigma), observed=y)
    return model
