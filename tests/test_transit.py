"""The transit target: its light curve against a direct integration of the limb-darkened
disk, its orbit against the simulation's own, gradients against finite differences, its
priors' inverse CDFs, and the backends its ops compile with."""

import numpy as np
import pytest
from scipy.integrate import quad

from essbench.problem import build_problem
from essbench.targets import transit as tr

# (projected separation, radius ratio): the centre, the full transit, second and third
# contact's neighbourhood (ingress: part of the planet off the disk), a large planet over the
# centre, and no contact at all.
GEOMETRIES = [
    (0.0, 0.09),
    (0.45, 0.09),
    (0.93, 0.09),
    (0.999, 0.09),
    (1.05, 0.09),
    (0.05, 0.3),
    (0.6, 0.3),
    (1.2, 0.1),
]
# Kipping's (q1, q2): the target's Sun-like star and a strongly darkened one.
TRUE_Q = (tr.TRUE["q1"], tr.TRUE["q2"])
LAWS = [TRUE_Q, (0.8, 0.1)]
PLANET = ("period", "t0", "ror", "b", "q1", "q2")


def direct_flux(sep, ror, u1, u2):
    """Flux of the limb-darkened disk behind the planet, by integrating the intensity over
    circles of radius rho about the star's centre, each weighted by the arc the planet covers
    (no closed form, nothing from exoplanet-core)."""

    def intensity(rho):
        mu = np.sqrt(max(1.0 - rho * rho, 0.0))
        return 1.0 - u1 * (1.0 - mu) - u2 * (1.0 - mu) ** 2

    def covered_arc(rho):
        if sep == 0.0:
            return 2.0 * np.pi if rho < ror else 0.0
        k = (rho * rho + sep * sep - ror * ror) / (2.0 * rho * sep)
        return 2.0 * np.arccos(np.clip(k, -1.0, 1.0))

    edges = sorted({0.0, 1.0, *(e for e in (abs(sep - ror), sep + ror) if 0.0 < e < 1.0)})
    blocked = sum(
        quad(lambda rho: intensity(rho) * rho * covered_arc(rho), lo, hi, epsabs=1e-14)[0]
        for lo, hi in zip(edges[:-1], edges[1:], strict=True)
    )
    total = quad(lambda rho: intensity(rho) * 2.0 * np.pi * rho, 0.0, 1.0, epsabs=1e-14)[0]
    return 1.0 - blocked / total


@pytest.fixture(scope="module")
def problem():
    return build_problem("transit", 8)


def _flux_function():
    import pytensor
    import pytensor.tensor as pt

    sep, ror, u1, u2 = pt.dvector("sep"), pt.dscalar("ror"), pt.dscalar("u1"), pt.dscalar("u2")
    return pytensor.function([sep, ror, u1, u2], tr.limb_darkened_flux(sep, ror, u1, u2))


@pytest.mark.parametrize("q", LAWS)
def test_light_curve_matches_a_direct_integration_of_the_disk(q):
    flux = _flux_function()
    u1, u2 = tr.limb_darkening(*q)
    for sep, ror in GEOMETRIES:
        got = flux(np.array([sep]), ror, u1, u2)[0]
        want = direct_flux(sep, ror, u1, u2)
        assert abs(got - want) < 1e-12, (sep, ror, q, got, want)
    assert abs(flux(np.array([1.2]), 0.1, u1, u2)[0] - 1.0) < 1e-15  # no contact


def test_kipping_parametrisation_covers_the_physical_laws():
    """q in (0, 1)^2 gives intensities positive and decreasing to the limb (Kipping 2013)."""
    q1, q2 = np.meshgrid(np.linspace(0.01, 0.99, 25), np.linspace(0.01, 0.99, 25))
    u1, u2 = tr.limb_darkening(q1, q2)
    assert np.all(u1 + u2 < 1.0) and np.all(u1 > 0.0) and np.all(u1 + 2.0 * u2 > 0.0)
    assert np.allclose(tr.limb_darkening(*TRUE_Q), (0.4, 0.25), atol=2e-4)


def test_model_flux_at_the_truth_is_the_simulations(problem):
    """exoplanet-core's Kepler op in the model against the simulation's own Newton solver:
    the model's likelihood at the generating planet is the Gaussian one around the simulated
    clean light curve."""
    from scipy.stats import norm

    t, y = tr.simulate()
    clean = tr.flux_numpy(t, *(tr.TRUE[k] for k in PLANET), tr.TRUE_A)
    assert 0.99 < clean.min() < 0.995 and abs(clean.max() - 1.0) < 1e-15
    logp_y = problem.model.compile_logp(vars=[problem.model["flux"]], mode=problem.mode)
    want = norm.logpdf(y, clean, tr.NOISE * np.sqrt(2.0)).sum()
    assert np.isclose(logp_y(problem.point(tr.true_unconstrained())), want, rtol=1e-12)


def test_duration_parametrisation():
    """a / R_* from the duration inverts Winn's duration; at the generating planet that
    duration is the first-to-fourth contact time of the simulated orbit (to 10 s)."""
    period, ror, b = tr.TRUE["period"], tr.TRUE["ror"], tr.TRUE["b"]
    assert np.isclose(tr.a_from_duration(period, tr.TRUE_DURATION, ror, b), tr.TRUE_A)
    t = tr.TRUE["t0"] + np.linspace(-0.2, 0.2, 400_001)
    sep, front = tr.separation_numpy(t, period, tr.TRUE["t0"], b, tr.TRUE_A)
    touching = t[front & (sep < 1.0 + ror)]
    assert abs(touching.max() - touching.min() - tr.TRUE_DURATION) < 10.0 / tr.DAY


def test_log_density_is_finite_at_its_initial_points(problem):
    assert problem.names[:2] == ["period_z", "t0_z"] and problem.ndim == tr.MIN_DIM == 8
    assert np.isfinite(problem.model.compile_logp()(problem.model.initial_point()))
    logp = problem.compile_logp()
    starts = problem.initial_points(20, np.random.RandomState(0))
    assert all(np.isfinite(logp(x)) for x in starts)
    assert logp(tr.true_unconstrained()) > logp(np.zeros(8)) + 1000


def test_gradient_matches_finite_differences(problem):
    logp = problem.model.compile_logp(mode=problem.mode)
    dlogp = problem.model.compile_dlogp(mode=problem.mode)
    rng = np.random.RandomState(1)
    truth = tr.true_unconstrained()
    points = [truth, truth + 2.0 * tr._POSTERIOR_SD * rng.randn(8), np.zeros(8)]
    h = 1e-5
    for x in points:
        grad = dlogp(problem.point(x))
        fd = np.array(
            [
                (logp(problem.point(x + h * e)) - logp(problem.point(x - h * e))) / (2 * h)
                for e in np.eye(8)
            ]
        )
        assert np.allclose(grad, fd, rtol=1e-6, atol=1e-5), (x, grad, fd)


def test_priors_are_invertible(problem):
    """PRIOR = "model": every free variable's prior is univariate with an inverse CDF."""
    import pymc as pm

    assert tr.PRIOR == "model"
    levels = np.array([0.01, 0.3, 0.5, 0.9, 0.99])
    for rv in problem.model.free_RVs:
        assert rv.ndim == 0, rv.name
        x = np.array([pm.icdf(rv, p).eval() for p in levels])
        assert np.all(np.diff(x) > 0), rv.name
        back = np.exp([pm.logcdf(rv, xi).eval() for xi in x])
        assert np.allclose(back, levels, rtol=1e-10), rv.name


def test_ops_compile_with_jax_but_not_c(problem):
    """exoplanet-core's ops have JAX implementations (their gradient too) and no C code."""
    from pytensor.graph.utils import MethodNotDefined

    point = problem.point(tr.true_unconstrained())
    model = problem.model
    assert np.isclose(model.compile_logp(mode="JAX")(point), model.compile_logp()(point))
    assert np.allclose(model.compile_dlogp(mode="JAX")(point), model.compile_dlogp()(point))
    with pytest.raises((NotImplementedError, MethodNotDefined)):
        model.compile_logp(mode="C")(point)
    assert set(tr.BACKENDS) == {"numba", "jax"}
