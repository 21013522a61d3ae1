"""posteriordb's ``gp_pois_regr-gp_pois_regr``: a latent Gaussian process, Poisson counts.

k_i ~ Poisson(exp(f_i)) at 11 points x_i, f = L f_tilde with L the Cholesky factor of the
squared-exponential covariance alpha^2 exp(-(x_i - x_j)^2 / (2 rho^2)) + 1e-10 I
(non-centred), f_tilde ~ N(0, 1), rho ~ Gamma(25, 4), alpha ~ half-N(0, 2). Parameters,
in Stan's unconstrained space: log rho, log alpha, f_tilde[0..10].
"""

import numpy as np

from essbench import posteriordb
from essbench.targets import _posteriordb

NAME = "gp_pois_regr"
POSTERIOR = "gp_pois_regr-gp_pois_regr"
DESCRIPTION = "posteriordb: latent Gaussian process, Poisson counts, non-centred (13 parameters)"
KIND = "Gaussian process"
OPTIONS = ()
MIN_DIM = MAX_DIM = 13
TRUTH = "posteriordb"
PRIOR = "model"  # every prior proper, univariate, with an inverse CDF (nested samplers)
STAN_PROGRAM = posteriordb.stan_code(POSTERIOR)
JITTER = 1e-10  # Stan's diag_matrix(rep_vector(1e-10, N))


stan_data, truth = _posteriordb.functions(POSTERIOR, NAME)


def _covariance(x, alpha, rho, xp):
    """Stan's gp_exp_quad_cov(x, alpha, rho) + JITTER I, in numpy (xp=np) or PyTensor."""
    d2 = (x[:, None] - x[None, :]) ** 2
    return alpha**2 * xp.exp(-0.5 * d2 / rho**2) + JITTER * np.eye(len(x))


def from_reference(ref) -> dict:
    """posteriordb keeps f = L f_tilde, not f_tilde: f_tilde = L^-1 f, draw by draw (the
    draws carry 15 digits and cond(L) <= 1e6: the port's f at these f_tilde reproduces
    posteriordb's f to 1e-8)."""
    x = np.asarray(posteriordb.data(POSTERIOR)["x"], float)
    rho, alpha, f = ref("rho"), ref("alpha"), ref("f", (len(x),))
    f_tilde = np.empty_like(f)
    for i in range(len(f)):
        chol = np.linalg.cholesky(_covariance(x, alpha[i], rho[i], np))
        f_tilde[i] = np.linalg.solve(chol, f[i])
    return {"rho": rho, "alpha": alpha, "f_tilde": f_tilde}


def build_model(dim: int = 13):
    import pymc as pm
    import pytensor.tensor as pt

    data = posteriordb.data(POSTERIOR)
    x = np.asarray(data["x"], float)
    with pm.Model() as model:
        rho = pm.Gamma("rho", alpha=25.0, beta=4.0)
        alpha = pm.HalfNormal("alpha", 2.0)
        f_tilde = pm.Normal("f_tilde", 0.0, 1.0, shape=len(x))
        chol = pt.linalg.cholesky(_covariance(x, alpha, rho, pt))
        f = pm.Deterministic("f", chol @ f_tilde)
        pm.Poisson("k", pt.exp(f), observed=np.asarray(data["k"]))
    return model
