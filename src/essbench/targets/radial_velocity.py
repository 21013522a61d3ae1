"""Keplerian radial-velocity orbit of one planet, fitted to fixed simulated data: 7 parameters.

Data (fixed: ``numpy.random.RandomState(20_240_607)``, built once at import): 50 epochs drawn
uniformly over 60 days (about five orbits) and sorted; per-epoch errors sigma_i ~ U(1.5, 2.5)
m/s; y_i = v(t_i) + N(0, sigma_i^2 + s^2). The generating orbit: period P = 11.8 d,
semi-amplitude K = 24 m/s, eccentricity e = 0.35, argument of periastron omega = 2.1 rad, mean
longitude lambda = M + omega = 0.8 rad at the reference time t_ref = 30 d (the middle of the
data), systemic velocity gamma = -4 m/s, jitter s = 3 m/s. The velocity is
v(t) = gamma + K [cos(omega + f) + e cos omega], f the true anomaly.

Model (all priors proper):

- log P ~ U(log 11, log 12.7): log-uniform in a window that holds the main peak of the
  periodogram only (its width in frequency is 0.73 / baseline, so no alias of the period);
- lambda ~ U(-pi, pi): mean longitude at t_ref (phase); the posterior sits far from the ends;
- K ~ HalfNormal(50) m/s;
- u = (u_1, u_2) ~ MvStudentT(nu=2, 0, I/2) with (sqrt(e) cos omega, sqrt(e) sin omega) =
  u / sqrt(1 + |u|^2): exactly the uniform prior on e in [0, 1) and omega in [-pi, pi), through
  an unconstrained pair (no boundary at e = 1; e -> 1 only as |u| -> infinity);
- gamma ~ N(0, 20) m/s;
- s ~ HalfNormal(10) m/s (jitter, added in quadrature to sigma_i).

Kepler's equation M = E - e sin E is solved in the PyTensor graph, elementwise over epochs:
8 Newton steps on |M| reduced to [0, pi] from Danby's start E_0 = |M| + 0.85 e (converged to
machine precision for e <= 0.99), wrapped in one op whose gradient is the implicit-function
one, dE/dM = 1 / (1 - e cos E) and dE/de = sin E / (1 - e cos E). It compiles with the Numba,
C and JAX backends, and vectorises (``Problem.compile_logp_batched``).

``STAN_PROGRAM`` is the same model in Stan (the same Newton steps, differentiated through by
Stan's autodiff, which at the converged root gives the implicit-function gradient).

No closed-form posterior moments: the ``reference`` rule computes them with long gated NUTS
runs. Parameters are the model's value variables: log_period_interval__,
phase_interval__, K_log__, ecc_u[0..1], gamma, jitter_log__.
"""

from functools import cache

import numpy as np

NAME = "radial_velocity"
DESCRIPTION = "Keplerian radial-velocity orbit fit to simulated data, 7 parameters (reference)"
GRADIENT = True
MIN_DIM = 7
OPTIONS = ()
PACKAGES = ()
MAX_DIM = 7
TRUTH = "reference"
# Nested samplers: the model's own priors; the pair ecc_u (multivariate, no inverse CDF) is
# drawn as uniform e and omega (what its prior is, see above) by ecc_u_from_cube.
PRIOR = "model"
# The reference run: 4 chains x 6,000 draws after 1,000 warm-up steps, target_accept 0.9.
# Measured with 5,000 draws (numba, 2 cores, about 50 s): R-hat 1.0007, no divergences, bulk
# ESS 13,900 at least (about 0.7 per draw); 6,000 leaves a margin over the 10,000 gate.
REFERENCE_NUTS = {"chains": 4, "tune": 1000, "draws": 6000, "target_accept": 0.9}

SEED = 20_240_607
N_EPOCHS = 50
BASELINE = 60.0  # days
T_REF = 30.0  # days: reference time of the phase (middle of the data)
TRUE = {
    "period": 11.8,
    "K": 24.0,
    "ecc": 0.35,
    "omega": 2.1,
    "phase": 0.8,  # mean longitude M + omega at T_REF
    "gamma": -4.0,
    "jitter": 3.0,
}
PERIOD_BOUNDS = (11.0, 12.7)
PHASE_BOUNDS = (-np.pi, np.pi)
K_SIGMA = 50.0
GAMMA_SIGMA = 20.0
JITTER_SIGMA = 10.0
N_NEWTON = 8
# The same model in Stan: the same Newton steps (differentiated through by Stan's autodiff,
# which at the converged root is the implicit-function gradient of the PyMC op).
STAN_PROGRAM = """
functions {
  // E for |M| in [0, pi]: Newton steps from Danby's start, each kept in [0, pi].
  real kepler_abs(real m_abs, real e, int steps) {
    real big_e = fmin(m_abs + 0.85 * e, pi());
    for (i in 1:steps) {
      big_e = big_e - (big_e - e * sin(big_e) - m_abs) / (1 - e * cos(big_e));
      big_e = fmin(fmax(big_e, 0), pi());
    }
    return big_e;
  }
}
data {
  int<lower=1> N;
  vector[N] t;
  vector[N] y;
  vector<lower=0>[N] sigma;
  real t_ref;
  array[2] real log_period_bounds;
  array[2] real phase_bounds;
  real<lower=0> K_sigma;
  real<lower=0> gamma_sigma;
  real<lower=0> jitter_sigma;
  int<lower=1> n_newton;
}
parameters {
  real<lower=log_period_bounds[1], upper=log_period_bounds[2]> log_period;
  real<lower=phase_bounds[1], upper=phase_bounds[2]> phase;
  real<lower=0> K;
  vector[2] ecc_u;
  real gamma;
  real<lower=0> jitter;
}
model {
  real rho2 = dot_self(ecc_u);
  real ecc = rho2 / (1 + rho2);
  real cos_w = 1;
  real sin_w = 0;
  if (rho2 > 0) {
    cos_w = ecc_u[1] / sqrt(rho2);
    sin_w = ecc_u[2] / sqrt(rho2);
  }
  real omega = atan2(sin_w, cos_w);
  real root = sqrt(1 - square(ecc));
  vector[N] v;
  for (i in 1:N) {
    real m = phase - omega + 2 * pi() * (t[i] - t_ref) * exp(-log_period);
    m = m - 2 * pi() * floor((m + pi()) / (2 * pi()));
    real s = m < 0 ? -1.0 : 1.0;
    real big_e = s * kepler_abs(s * m, ecc, n_newton);
    v[i] = gamma + K * root / (1 - ecc * cos(big_e))
                   * (root * cos_w * cos(big_e) - sin_w * sin(big_e));
  }
  // log_period and phase: uniform within their bounds.
  K ~ normal(0, K_sigma);
  ecc_u ~ multi_student_t(2, rep_vector(0, 2), diag_matrix(rep_vector(0.5, 2)));
  gamma ~ normal(0, gamma_sigma);
  jitter ~ normal(0, jitter_sigma);
  y ~ normal(v, sqrt(square(sigma) + square(jitter)));
}
"""


def kepler_numpy(mean_anomaly, ecc, steps: int = 50) -> np.ndarray:
    """Eccentric anomaly in [-pi, pi] by plain Newton iteration (data simulation only)."""
    m = np.mod(np.asarray(mean_anomaly, dtype=float) + np.pi, 2.0 * np.pi) - np.pi
    big_e = m + ecc * np.sin(m)
    for _ in range(steps):
        big_e = big_e - (big_e - ecc * np.sin(big_e) - m) / (1.0 - ecc * np.cos(big_e))
    return big_e


def velocity_numpy(t, period, K, ecc, omega, phase, gamma) -> np.ndarray:
    """v(t) = gamma + K [cos(omega + f) + e cos omega], through the true anomaly f."""
    mean_anomaly = phase - omega + 2.0 * np.pi * (np.asarray(t) - T_REF) / period
    big_e = kepler_numpy(mean_anomaly, ecc)
    f = 2.0 * np.arctan2(
        np.sqrt(1.0 + ecc) * np.sin(big_e / 2.0), np.sqrt(1.0 - ecc) * np.cos(big_e / 2.0)
    )
    return gamma + K * (np.cos(omega + f) + ecc * np.cos(omega))


def simulate():
    """The fixed data set: (times, observed velocities, per-epoch errors)."""
    rng = np.random.RandomState(SEED)
    t = np.sort(rng.uniform(0.0, BASELINE, N_EPOCHS))
    sigma = rng.uniform(1.5, 2.5, N_EPOCHS)
    clean = velocity_numpy(t, *(TRUE[k] for k in ("period", "K", "ecc", "omega", "phase", "gamma")))
    noise = rng.randn(N_EPOCHS) * np.sqrt(sigma**2 + TRUE["jitter"] ** 2)
    return t, clean + noise, sigma


T, Y, SIGMA = simulate()


def stan_data(dim: int = 7) -> dict:
    return {
        "N": N_EPOCHS,
        "t": T,
        "y": Y,
        "sigma": SIGMA,
        "t_ref": T_REF,
        "log_period_bounds": np.log(PERIOD_BOUNDS),
        "phase_bounds": PHASE_BOUNDS,
        "K_sigma": K_SIGMA,
        "gamma_sigma": GAMMA_SIGMA,
        "jitter_sigma": JITTER_SIGMA,
        "n_newton": N_NEWTON,
    }


def kepler_solve(mean_anomaly, ecc, steps: int = N_NEWTON):
    """PyTensor graph of the eccentric anomaly E (in [-pi, pi]) with M = E - e sin E.

    Elementwise (``ecc`` broadcasts against ``mean_anomaly``): ``steps`` Newton iterations on
    |M| reduced to [0, pi], from Danby's start E_0 = |M| + 0.85 e, each kept in [0, pi] (the
    root's bracket), then E takes the sign of M. Its gradient is the implicit-function one.
    """
    import pytensor.tensor as pt

    two_pi = 2.0 * np.pi
    m = mean_anomaly - two_pi * pt.floor((mean_anomaly + np.pi) / two_pi)  # in [-pi, pi)
    sign = pt.switch(pt.lt(m, 0.0), -1.0, 1.0)  # not abs(), whose gradient is 0 at M = 0
    m_abs, ecc = pt.broadcast_arrays(sign * m, pt.as_tensor(ecc, dtype="float64"))
    return sign * _newton_op(steps, m_abs.type.ndim)(m_abs, ecc)


@cache
def _newton_op(steps: int, ndim: int):
    """E(|M|, e) as one elementwise op whose gradient is dE/dM = 1 / (1 - e cos E) and
    dE/de = sin E / (1 - e cos E) (implicit differentiation at the converged root).

    Differentiated through, the unrolled steps would cost ``steps`` times more, and PyTensor's
    algebraic rewrites of that gradient graph take time exponential in ``steps``. (PyMC strips
    ``disconnected_grad``, a view, from model graphs, so this is how the gradient is cut.) The
    op is inlined at compilation (the C backend needs that) and vectorises to itself at a
    higher ``ndim`` (``Problem.compile_logp_batched``) instead of into a ``Blockwise``.
    """
    import pytensor.tensor as pt

    m_abs = pt.tensor("m_abs", dtype="float64", shape=(None,) * ndim)
    ecc = pt.tensor("ecc", dtype="float64", shape=(None,) * ndim)
    big_e = pt.minimum(m_abs + 0.85 * ecc, np.pi)
    for _ in range(steps):
        step = (big_e - ecc * pt.sin(big_e) - m_abs) / (1.0 - ecc * pt.cos(big_e))
        big_e = pt.clip(big_e - step, 0.0, np.pi)

    def pullback(inputs, outputs, cotangents):
        (_, e), (root,), (g,) = inputs, outputs, cotangents
        g_over = g / (1.0 - e * pt.cos(root))
        return [g_over, g_over * pt.sin(root)]

    op = _kepler_class()([m_abs, ecc], [big_e], pullback=pullback, inline=True, name="Kepler")
    op.steps = steps
    return op


def _kepler_class():
    """The op's class, defined (and its vectorisation registered) on first use: PyTensor is
    imported inside functions only."""
    global _KEPLER_CLASS
    if _KEPLER_CLASS is None:
        import pytensor.tensor as pt
        from pytensor.compile.builders import OpFromGraph
        from pytensor.graph.replace import _vectorize_node

        class KeplerNewton(OpFromGraph):
            pass

        @_vectorize_node.register(KeplerNewton)
        def _vectorize(op, node, m_abs, ecc):
            m_abs, ecc = pt.broadcast_arrays(m_abs, ecc)
            return [_newton_op(op.steps, m_abs.type.ndim)(m_abs, ecc)]

        _KEPLER_CLASS = KeplerNewton
    return _KEPLER_CLASS


_KEPLER_CLASS = None


def build_model(dim: int = 7):
    import pymc as pm
    import pytensor.tensor as pt

    u_true = _u_from_ecc_omega(TRUE["ecc"], TRUE["omega"])
    with pm.Model() as model:
        log_period = pm.Uniform("log_period", *np.log(PERIOD_BOUNDS))
        phase = pm.Uniform("phase", *PHASE_BOUNDS)
        K = pm.HalfNormal("K", K_SIGMA, initval=20.0)
        u = pm.MvStudentT("ecc_u", nu=2.0, mu=np.zeros(2), scale=0.5 * np.eye(2), initval=u_true)
        gamma = pm.Normal("gamma", 0.0, GAMMA_SIGMA)
        jitter = pm.HalfNormal("jitter", JITTER_SIGMA, initval=3.0)

        # Components as sums, not u[0] and u[1]: with the C backend (PyTensor 3.3.8) the
        # gradient of indexing (IncSubtensor) fails, and dot needs BLAS.
        u_1, u_2 = pt.sum(u * [1.0, 0.0]), pt.sum(u * [0.0, 1.0])
        rho2 = pt.sum(u**2)
        ecc = rho2 / (1.0 + rho2)
        # omega is undefined at u = 0 (e = 0, where v does not depend on it): take 0 there,
        # without 0/0 in the values or the gradients.
        nonzero = pt.gt(rho2, 0.0)
        rho = pt.sqrt(pt.switch(nonzero, rho2, 1.0))
        cos_w = pt.switch(nonzero, u_1 / rho, 1.0)
        sin_w = pt.switch(nonzero, u_2 / rho, 0.0)
        omega = pt.arctan2(sin_w, cos_w)
        mean_anomaly = phase - omega + 2.0 * np.pi * (T - T_REF) * pt.exp(-log_period)
        big_e = kepler_solve(mean_anomaly, ecc)
        cos_e, sin_e = pt.cos(big_e), pt.sin(big_e)
        root = pt.sqrt(1.0 - ecc**2)
        # K [cos(omega + f) + e cos omega] written with E (no true anomaly needed).
        v = gamma + K * root / (1.0 - ecc * cos_e) * (root * cos_w * cos_e - sin_w * sin_e)
        pm.Normal("y", v, pt.sqrt(SIGMA**2 + jitter**2), observed=Y)
    return model


def ecc_u_from_cube(cube):
    """ecc_u from two cube coordinates (a PyTensor graph): e = c_1 and omega = pi (2 c_2 - 1),
    uniform as the prior of ecc_u is, then u = sqrt(e / (1 - e)) (cos omega, sin omega)."""
    import pytensor.tensor as pt

    ecc = pt.sum(cube * [1.0, 0.0])
    omega = np.pi * (2.0 * pt.sum(cube * [0.0, 1.0]) - 1.0)
    radius = pt.sqrt(ecc / (1.0 - ecc))
    return radius * pt.stack([pt.cos(omega), pt.sin(omega)])


PRIOR_ICDF = {"ecc_u": ecc_u_from_cube}


def _u_from_ecc_omega(ecc, omega) -> np.ndarray:
    """The unconstrained pair u for (e, omega): |u|^2 = e / (1 - e)."""
    radius = np.sqrt(ecc / (1.0 - ecc))
    return radius * np.array([np.cos(omega), np.sin(omega)])


def _logit(x, lower, upper):
    p = (x - lower) / (upper - lower)
    return np.log(p) - np.log1p(-p)


def true_unconstrained() -> np.ndarray:
    """The generating orbit in the samplers' (value-variable) space."""
    return np.concatenate(
        [
            [_logit(np.log(TRUE["period"]), *np.log(PERIOD_BOUNDS))],
            [_logit(TRUE["phase"], *PHASE_BOUNDS)],
            [np.log(TRUE["K"])],
            _u_from_ecc_omega(TRUE["ecc"], TRUE["omega"]),
            [TRUE["gamma"]],
            [np.log(TRUE["jitter"])],
        ]
    )


# Rough posterior standard deviations in value-variable space (from the reference run).
_POSTERIOR_SD = np.array([0.1, 0.03, 0.04, 0.09, 0.055, 0.6, 0.14])


def initial_points(dim, n, rng):
    """Walkers around the generating orbit, spread like the posterior (its bulk)."""
    return true_unconstrained() + _POSTERIOR_SD * rng.randn(n, 7)
