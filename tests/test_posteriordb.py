"""posteriordb's posteriors: the vendored files, and every port against its Stan program.

A port (a target declaring ``POSTERIOR``) must have Stan's density up to a constant: its
log density minus Stan's (both with the Jacobian of the unconstrained space) is the same
number at posteriordb's reference draws and at points away from the bulk, and so are the
gradients, when the two unconstrained spaces coincide (``perm`` of
:func:`essbench.stan.compare_log_density`). A port that declares ``SAME_TRANSFORMS =
False`` (PyMC lacks Stan's transform) is compared without the Jacobian.

Stan's side comes from ``tests/data/stan_log_density.json``, made with the real toolchain
by ``tests/stan_fixtures.py`` (a build takes ~30-50 s per program, and a fresh virtualenv
builds every program again); PyMC's side is computed here. A port whose Stan program or
data no longer match the fixture's hashes fails, asking to regenerate its cases.
eight_schools_noncentered's program, compiled for tests/test_stan_nuts.py's run anyway,
recomputes its cases with Stan itself.
"""

import math

import numpy as np
import pytest
import stan_fixtures as fixtures
from conftest import REPO

from essbench import posteriordb, registry
from essbench import stan as es
from essbench.targets import _posteriordb, load_truth

PORTS = sorted(n for n, p in registry.targets().items() if hasattr(p.module, "POSTERIOR"))
POSTERIORDB_TRUTH = sorted(n for n in PORTS if registry.target(n).TRUTH == "posteriordb")
LOGP_RTOL = 1e-8
GRAD_RTOL = 1e-6


def problem(name: str):
    return fixtures.problem_of(name, registry.target(name).MIN_DIM)


def stored(name: str) -> dict:
    """The fixture's Stan values at the port's reference points (checked to be current)."""
    return fixtures.stored(name, registry.target(name).MIN_DIM, fixtures.REFERENCE)


def assert_constant_difference(pymc: np.ndarray, stan: np.ndarray):
    diff = pymc - stan
    assert np.all(np.isfinite(diff)), (pymc, stan)
    spread = np.ptp(diff)
    assert spread <= LOGP_RTOL * max(1.0, np.abs(stan).max()), (spread, diff)


def assert_port_matches(name: str, case: dict, pymc: dict):
    """PyMC's values ``pymc`` (:func:`essbench.stan.pymc_log_density`) against Stan's
    ``case`` (the fixture's, or Stan's own recomputed)."""
    module = registry.target(name)
    stan = {k: np.asarray(case[k], float) for k in ("stan", "stan_nojac", "stan_grad")}
    if getattr(module.module, "SAME_TRANSFORMS", True):
        assert case["perm"] is not None, f"{name}: its unconstrained space is not Stan's"
        assert_constant_difference(pymc["pymc"], stan["stan"])
        grad, want = pymc["pymc_grad"], stan["stan_grad"]
        assert np.allclose(grad, want, rtol=GRAD_RTOL, atol=1e-8 * np.abs(want).max())
    else:
        assert case["perm"] is None, f"{name} declares SAME_TRANSFORMS = False, yet they are"
    assert_constant_difference(pymc["pymc_nojac"], stan["stan_nojac"])


@pytest.mark.parametrize("name", PORTS)
def test_port_has_stans_log_density_and_gradient(name):
    case = stored(name)
    thetas = np.asarray(case["points"])
    # The fixture's points are the ones the generator draws from the port as it is now (to
    # 1e-6: gp_pois_regr's latent f_tilde = L^-1 f goes through the Cholesky factor of a
    # kernel matrix near singular at large rho, whose last bits differ between CPUs; here
    # its points moved by 4e-7 relative, where a changed port moves them by O(1)).
    np.testing.assert_allclose(
        thetas, fixtures.points(problem(name), fixtures.REFERENCE), rtol=1e-6, atol=1e-12
    )
    assert_port_matches(name, case, es.pymc_log_density(problem(name), thetas))


def test_fixture_is_stans_own_output_at_eight_schools_reference_points():
    """Stan itself (its program is compiled for tests/test_stan_nuts.py's run anyway), at the
    fixture's points, gives the fixture's values; and the live comparison passes."""
    name = "eight_schools_noncentered"
    live = fixtures.stan_case(name, registry.target(name).MIN_DIM, fixtures.REFERENCE)
    fixtures.assert_same_stan_values(live, stored(name))
    assert_port_matches(name, live, es.pymc_log_density(problem(name), np.asarray(live["points"])))


@pytest.mark.parametrize("name", PORTS)
def test_port_declares_stans_parameters_and_its_dimension(name):
    """The free random variables are the Stan program's parameters block: names and
    shapes (pystan lists them first, then transformed parameters and generated
    quantities); the declared dimension is the unconstrained one."""
    module = registry.target(name)
    model = problem(name).model
    case = stored(name)
    mine = [(rv.name, [int(s) for s in rv.shape.eval()]) for rv in model.free_RVs]
    theirs = list(zip(case["param_names"], case["dims"], strict=True))
    assert mine == theirs[: len(mine)]
    assert module.MIN_DIM == module.MAX_DIM == problem(name).ndim
    assert posteriordb.stan_code(module.POSTERIOR) == module.STAN_PROGRAM


@pytest.mark.parametrize("name", POSTERIORDB_TRUTH)
def test_posteriordb_truth_loads_with_finite_moments_and_errors(name):
    module = registry.target(name)
    truth = load_truth(name, module.MIN_DIM, {})
    ndim = problem(name).ndim
    for field in (truth.mean, truth.var, truth.mean_mcse, truth.var_mcse):
        assert field.shape == (ndim,) and np.all(np.isfinite(field))
    assert np.all(truth.var > 0) and np.all(truth.mean_mcse > 0) and np.all(truth.var_mcse > 0)
    # 10 chains x 1,000 draws: every mean is known to a small fraction of its sd.
    assert np.all(truth.mean_mcse < 0.1 * np.sqrt(truth.var))
    assert truth.quantiles.shape == (ndim, len(truth.quantile_levels))
    assert np.all(np.diff(truth.quantiles, axis=1) > 0)
    assert 0 < truth.quantile_prob_mcse < 0.05


@pytest.mark.parametrize("name", POSTERIORDB_TRUTH)
def test_reference_draws_round_trip_through_the_ports_parameters(name):
    """The truth's value-space draws, constrained again by the port, are posteriordb's
    draws of every parameter posteriordb keeps."""
    module = registry.target(name)
    x = _posteriordb.value_space_reference(module.POSTERIOR, name, module.MIN_DIM)
    kept = {
        posteriordb._INDEX.match(k)["base"] for k in posteriordb.reference_draws(module.POSTERIOR)
    }
    for chain, draw in ((0, 0), (3, 500), (9, 999)):
        got = es.constrained(problem(name), x[chain, draw])
        for parameter in set(got) & kept:
            want = posteriordb.reference_array(module.POSTERIOR, parameter, got[parameter].shape)
            assert np.allclose(got[parameter], want[chain, draw], rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("name", PORTS)
def test_port_initial_points_have_finite_log_density(name):
    logp = problem(name).compile_logp()
    starts = problem(name).initial_points(8, np.random.RandomState(0))
    assert all(math.isfinite(logp(x)) for x in starts)


def test_every_vendored_posterior_has_one_port():
    ported = [registry.target(n).POSTERIOR for n in PORTS]
    assert sorted(ported) == posteriordb.names(), set(posteriordb.names()) ^ set(ported)


def test_every_vendored_posterior_reads():
    for name in posteriordb.names():
        info = posteriordb.posterior(name)
        assert info["name"] == name
        assert isinstance(posteriordb.data(name), dict) and posteriordb.data(name)
        assert "parameters" in posteriordb.stan_code(name)
        assert posteriordb.licence(name) == "BSD3", "a new licence: say so in the README"
        if posteriordb.has_reference_draws(name):
            draws = posteriordb.reference_draws(name)
            shapes = {a.shape for a in draws.values()}
            assert shapes == {(10, 1000)} and all(np.isfinite(a).all() for a in draws.values())
    assert (posteriordb.ROOT / "LICENCE.md").read_text().startswith("BSD 3-Clause License")


def test_reference_check_compares_with_posteriordbs_summary(tmp_path, capsys):
    """benchmarks/reference_check.py: a reference with posteriordb's own moments agrees;
    one whose first untransformed mean is 10 MCSEs off does not."""
    import importlib.util
    import json

    spec = importlib.util.spec_from_file_location(
        "reference_check", REPO / "benchmarks" / "reference_check.py"
    )
    check = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(check)
    posterior = registry.target("accel_gp").POSTERIOR
    means = posteriordb.summary_statistic(posterior, "mean_value")
    squares = posteriordb.summary_statistic(posterior, "mean_squared_value")
    coords = check.untransformed("accel_gp", 66)
    assert len(coords) == 62 and coords[0] == (0, "Intercept")  # 4 log-transformed left out
    ref = {"target": "accel_gp", "dim": 66, "mean": [0.0] * 66, "var": [1.0] * 66}
    ref["mean_mcse"] = [1e-3] * 66
    ref["var_mcse"] = [1e-3] * 66
    for i, label in coords:
        j = means["names"].index(label)
        ref["mean"][i] = means["mean_value"][j]
        ref["var"][i] = squares["mean_squared_value"][j] - means["mean_value"][j] ** 2
    path = tmp_path / "reference.json"
    path.write_text(json.dumps(ref))
    assert check.main([str(path)]) == 0
    assert "62 untransformed parameters" in capsys.readouterr().out
    j = means["names"].index("Intercept")
    ref["mean"][0] += 10 * np.hypot(1e-3, means["mcse_mean"][j])
    path.write_text(json.dumps(ref))
    assert check.main([str(path)]) == 1
    assert "largest |z| 10.00 (Intercept)" in capsys.readouterr().out
