"""posteriordb's ``arma-arma11``: an ARMA(1, 1) model.

mu ~ N(0, 10), phi ~ N(0, 2), theta ~ N(0, 2), sigma ~ half-Cauchy(0, 2.5); the errors
err_1 = y_1 - (mu + phi mu), err_t = y_t - (mu + phi y_{t-1} + theta err_{t-1}) are
N(0, sigma): the Stan program of posteriordb, ported to PyMC with the same parameters.
Stan's recursion is linear in err, err_t = sum_{k<=t} (-theta)^(t-k) d_k with
d_t = y_t - mu - phi y_{t-1}, so the port computes it as one matrix product (no scan).
Parameters: mu, phi, theta, log(sigma).
"""

import numpy as np

from essbench import posteriordb
from essbench.targets import _posteriordb

NAME = "arma11"
POSTERIOR = "arma-arma11"
DESCRIPTION = "posteriordb: ARMA(1, 1) model (time series, 4 parameters)"
KIND = "time series"
OPTIONS = ()
MIN_DIM = MAX_DIM = 4
TRUTH = "posteriordb"
PRIOR = "model"  # every prior proper, univariate, with an inverse CDF (nested samplers)
STAN_PROGRAM = posteriordb.stan_code(POSTERIOR)


stan_data, truth = _posteriordb.functions(POSTERIOR, NAME)


def linear_filter(d, c, n: int):
    """x_t = d_t + c x_{t-1}, x_0 = 0 (t = 1..n), as the PyTensor graph sum_k c^(t-k) d_k.

    The powers c^j (j = 0..n-1) are a cumulative product, so a negative ``c`` needs no
    logarithm; the lower-triangular Toeplitz matrix of them applied to ``d`` is the filter.
    """
    import pytensor.tensor as pt

    powers = pt.concatenate([pt.ones(1), pt.cumprod(pt.repeat(pt.shape_padleft(c), n - 1))])
    lag = np.subtract.outer(np.arange(n), np.arange(n))
    weights = powers[np.maximum(lag, 0)] * (lag >= 0)
    return weights @ d


def build_model(dim: int = 4):
    import pymc as pm
    import pytensor.tensor as pt

    data = posteriordb.data(POSTERIOR)
    y = np.asarray(data["y"], float)
    with pm.Model() as model:
        mu = pm.Normal("mu", 0.0, 10.0)
        phi = pm.Normal("phi", 0.0, 2.0)
        theta = pm.Normal("theta", 0.0, 2.0)
        sigma = pm.HalfCauchy("sigma", 2.5)
        # d_t: the error before the moving-average term (Stan assumes err_0 = 0, y_0 = mu).
        previous = pt.concatenate([pt.shape_padleft(mu), pt.as_tensor(y[:-1])])
        err = linear_filter(y - mu - phi * previous, -theta, len(y))
        pm.Potential("err", pm.logp(pm.Normal.dist(0.0, sigma), err).sum())
    return model
