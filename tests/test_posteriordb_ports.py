"""Checks of the posteriordb ports' own pieces that the Stan comparison cannot isolate:
the HMM forward algorithm against a brute-force sum over state paths, Stan's simplex
transform against Stan's formulas, and accel_gp (no vendored reference draws) against
posteriordb's summary statistics.

Each port's log density and gradient against its Stan program: tests/test_posteriordb.py.
"""

import itertools

import numpy as np
import pytest

from essbench import posteriordb


def _brute_force_logp(log_a, log_e):
    """log sum over every state path z of prod_t exp(log_e[t, z_t]) prod exp(log_a[z_{t-1},
    z_t]): the quantity Stan's forward algorithm computes (weight 1 on the first state)."""
    n, k = log_e.shape
    terms = []
    for path in itertools.product(range(k), repeat=n):
        total = sum(log_e[t, z] for t, z in enumerate(path))
        total += sum(log_a[path[t - 1], path[t]] for t in range(1, n))
        terms.append(total)
    return np.logaddexp.reduce(terms)


@pytest.mark.parametrize("k", [2, 3])
def test_forward_algorithm_sums_over_all_state_paths(k):
    import pytensor
    import pytensor.tensor as pt

    from essbench.targets import _hmm

    rng = np.random.default_rng(k)
    n = 6
    a = rng.dirichlet(np.ones(k), size=k)
    log_e = rng.normal(-2.0, 1.5, size=(n, k))
    log_a_var, log_e_var = pt.matrix("log_a"), pt.matrix("log_e")
    logp = _hmm.forward_logp(log_a_var, log_e_var)
    f = pytensor.function([log_a_var, log_e_var], [logp, *pt.grad(logp, [log_a_var, log_e_var])])
    value, grad_a, grad_e = f(np.log(a), log_e)
    assert value == pytest.approx(_brute_force_logp(np.log(a), log_e), rel=1e-12)
    # The gradient against central differences of the brute-force sum.
    h = 1e-6
    for index in [(0, 0), (k - 1, 1), (1, k - 1)]:
        step = np.zeros((k, k))
        step[index] = h
        diff = _brute_force_logp(np.log(a) + step, log_e) - _brute_force_logp(
            np.log(a) - step, log_e
        )
        assert grad_a[index] == pytest.approx(diff / (2 * h), rel=1e-6, abs=1e-8)
    for index in [(0, 0), (n - 1, k - 1), (n // 2, 1)]:
        step = np.zeros((n, k))
        step[index] = h
        diff = _brute_force_logp(np.log(a), log_e + step) - _brute_force_logp(
            np.log(a), log_e - step
        )
        assert grad_e[index] == pytest.approx(diff / (2 * h), rel=1e-6, abs=1e-8)


def _stan_simplex_constrain(y):
    """Stan 2.39's simplex_constrain (stan/math/prim/constraint), transcribed loop by loop:
    (x, log |J|)."""
    n = len(y)
    z = np.zeros(n + 1)
    sum_w = 0.0
    for i in range(n, 0, -1):
        w = y[i - 1] / np.sqrt(i * (i + 1.0))
        sum_w += w
        z[i - 1] += sum_w
        z[i] -= w * i
    x = np.exp(z - z.max()) / np.exp(z - z.max()).sum()
    return x, np.log(x).sum() + 0.5 * np.log(n + 1)


@pytest.mark.parametrize("k", [2, 3, 5])
def test_stan_simplex_is_stans_transform(k):
    import pytensor.tensor as pt

    from essbench.targets import _hmm

    transform = _hmm.StanSimplex()
    rng = np.random.default_rng(k)
    y = rng.normal(size=k - 1)
    x_stan, log_jac_stan = _stan_simplex_constrain(y)
    y_var = pt.vector("y", shape=(k - 1,))
    x_var = pt.vector("x", shape=(k,))
    x = transform.backward(y_var).eval({y_var: y})
    np.testing.assert_allclose(x, x_stan, rtol=1e-13)
    assert float(transform.log_jac_det(y_var).eval({y_var: y})) == pytest.approx(log_jac_stan)
    np.testing.assert_allclose(transform.forward(x_var).eval({x_var: x_stan}), y, atol=1e-12)
    # log |J| is the log-determinant of d x[:-1] / d y (x's last entry is 1 - the rest).
    jac = np.empty((k - 1, k - 1))
    h = 1e-6
    for j in range(k - 1):
        step = np.zeros(k - 1)
        step[j] = h
        jac[:, j] = (_stan_simplex_constrain(y + step)[0] - _stan_simplex_constrain(y - step)[0])[
            :-1
        ] / (2 * h)
    assert np.linalg.slogdet(jac)[1] == pytest.approx(log_jac_stan, rel=1e-6)
    if k == 2:
        assert y[0] == pytest.approx(np.log(x_stan[0] / x_stan[1]) / np.sqrt(2))


def test_accel_gp_agrees_with_posteriordbs_summary_statistics():
    """accel_gp has no vendored reference draws: one NUTS run of the port (1 chain, 1,000
    draws after 1,000 warm-up steps at target_accept 0.99, no divergence) has posteriordb's
    mean and mean square of all 66 parameters (constrained) within 4.5 combined MCSEs."""
    import pymc as pm

    from essbench import metrics
    from essbench.problem import build_problem

    problem = build_problem("accel_gp", 66)
    with problem.model:
        idata = pm.sample(
            tune=1000,
            draws=1000,
            chains=1,
            cores=1,
            target_accept=0.99,
            random_seed=2,
            nuts_sampler="pymc",
            progressbar=False,
            compute_convergence_checks=False,
        )
    assert int(idata.sample_stats["diverging"].sum()) == 0
    means = posteriordb.summary_statistic("mcycle_gp-accel_gp", "mean_value")
    columns = []
    for name in means["names"]:
        base, _, index = name.partition("[")
        values = np.asarray(idata.posterior[base])
        columns.append(values[..., int(index[:-1]) - 1] if index else values)
    draws = np.stack(columns, axis=-1)  # (chains, draws, 66), posteriordb's order
    squares = posteriordb.summary_statistic("mcycle_gp-accel_gp", "mean_squared_value")
    assert squares["names"] == means["names"]
    for x, ref, key in [(draws, means, "mean_value"), (draws**2, squares, "mean_squared_value")]:
        per = metrics.per_parameter(x)
        z = (per["mean"] - np.array(ref[key])) / np.hypot(per["mcse_mean"], ref["mcse_mean"])
        worst = int(np.argmax(np.abs(z)))
        assert np.abs(z).max() < 4.5, f"{key} of {means['names'][worst]}: z = {z[worst]:.2f}"
