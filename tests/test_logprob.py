"""Targets given as a plain log-probability function (essbench.logprob): the config check,
the compatibility of every sampler, runs of every sampler that can take one, the reference,
and the worked example's agreement with the PyMC radial_velocity target."""

import importlib.util
import json
import textwrap

import numpy as np
import pandas as pd
import pytest
import yaml
from conftest import REPO, snakemake

from essbench import config as ebconfig
from essbench import logprob, policy, registry
from essbench.problem import build_problem
from essbench.samplers import merged_options

PLUGINS = REPO / "tests" / "plugins"
EXAMPLES = REPO / "examples"
RV_JAX = EXAMPLES / "radial_velocity_logprob.py"
RV_NUMPY = EXAMPLES / "radial_velocity_numpy.py"


def _module(path):
    spec = importlib.util.spec_from_file_location(f"test_{path.stem}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def rv():
    logprob.import_jax()
    return _module(RV_JAX)


@pytest.fixture(autouse=True)
def _forget():
    yield
    registry.forget_user()


# -- the worked example: the same posterior by two routes -----------------------------------


def test_the_jax_twin_agrees_with_the_pymc_radial_velocity_up_to_a_constant(rv):
    """At points spread three times wider than the posterior, in the PyMC model's value
    space (Jacobians included on both sides): one constant difference."""
    points, ours, theirs = logprob.compare_with_model(rv, "radial_velocity", n=30, scale=3.0)
    diff = ours - theirs
    assert np.all(np.isfinite(diff)) and np.ptp(ours) > 10  # the points differ in density
    assert np.ptp(diff) < 1e-8, diff


def test_the_jax_gradient_agrees_with_pymcs(rv):
    jax = logprob.import_jax()
    problem = build_problem("radial_velocity", 7)
    fn = problem.model.logp_dlogp_function(ravel_inputs=True)
    fn.set_extra_values({})
    grad = jax.jit(jax.grad(rv.log_prob))
    for x in problem.initial_points(5, np.random.RandomState(3)):
        _, theirs = fn._pytensor_function(x)
        np.testing.assert_allclose(np.asarray(grad(x)), theirs, rtol=1e-6, atol=1e-8)


def test_the_numpy_twin_is_the_same_function(rv):
    numpy_twin = _module(RV_NUMPY)
    rng = np.random.default_rng(4)
    for x in rv.initial(rng, 10) + rng.normal(0, 0.5, (10, 7)):
        assert float(rv.log_prob(x)) == pytest.approx(numpy_twin.log_prob(x), abs=1e-9)
        assert float(rv.log_likelihood(x)) == pytest.approx(numpy_twin.log_likelihood(x), abs=1e-9)
        u = rng.uniform(0.01, 0.99, 7)
        np.testing.assert_allclose(rv.prior_transform(u), numpy_twin.prior_transform(u), rtol=1e-12)


def test_the_prior_transform_draws_from_log_prior(rv):
    """The nested samplers' prior is the transform's: log_prior(T(u)) + log|det dT/du| = 0
    (the cube's density is 1) wherever the prior is what log_prior says."""
    jax = logprob.import_jax()
    jacobian = jax.jacfwd(rv.prior_transform)
    for u in np.random.default_rng(5).uniform(0.02, 0.98, (20, 7)):
        _, log_det = np.linalg.slogdet(np.asarray(jacobian(u)))
        assert float(rv.log_prior(rv.prior_transform(u))) + log_det == pytest.approx(0, abs=1e-9)


def test_the_example_study_config_is_valid():
    full = ebconfig.validate(
        yaml.safe_load((EXAMPLES / "radial_velocity_logprob.yaml").read_text())
    )
    assert {"radial_velocity", "radial_velocity_logprob"} <= set(full["targets"])
    assert ebconfig.target_dims(full, "radial_velocity_logprob") == [7]


# -- compatibility ---------------------------------------------------------------------------


def test_every_sampler_says_whether_it_runs_a_log_prob_function():
    jax_twin = registry.load_file("target", "rv_jax", RV_JAX)
    numpy_twin = registry.load_file("target", "rv_numpy", RV_NUMPY)
    assert jax_twin.LOG_PROB and jax_twin.GRADIENT and jax_twin.ENV == "jax"
    assert numpy_twin.LOG_PROB and not numpy_twin.GRADIENT and numpy_twin.ENV == "sampling"
    assert jax_twin.MIN_DIM == jax_twin.MAX_DIM == 7 and jax_twin.PRIOR == "transform"
    cell = registry.compatibility
    for name in ("numpyro_nuts", "blackjax_nuts", "nutpie"):
        assert cell(registry.sampler(name), jax_twin) == "✓ (d = 7)"
        assert cell(registry.sampler(name), numpy_twin) == f"✗ {logprob.NEEDS_JAX}"
    for name in ("emcee", "emcee_vectorized", "zeus"):
        assert cell(registry.sampler(name), jax_twin).startswith("✓")
        assert cell(registry.sampler(name), numpy_twin).startswith("✓")
    for name in ("dynesty", "nautilus"):
        assert cell(registry.sampler(name), numpy_twin) == "✓ (d = 7)"
    for name in ("pymc_nuts", "pymc_metropolis"):
        assert "needs a PyMC model" in cell(registry.sampler(name), jax_twin)
    assert "needs a Stan program" in cell(registry.sampler("stan_nuts"), jax_twin)
    table = logprob.compatibility_table(["rv_jax", "rv_numpy"])
    assert table.count("\n") == 1 + sum(not s.TEST_ONLY for s in registry.samplers().values())


def test_nested_samplers_need_the_likelihood_apart_from_the_prior(tmp_path):
    path = tmp_path / "no_like.py"
    path.write_text(
        "import jax.numpy as jnp\nNDIM = 2\n"
        "def log_prob(theta):\n    return -0.5 * jnp.sum(theta ** 2)\n"
        "def prior_transform(u):\n    return 20 * u - 10\n"
    )
    target = registry.load_file("target", "no_like", path)
    assert registry.sampler("dynesty").unsupported(target) == f"no prior: {logprob.NO_LIKELIHOOD}"
    target = registry.load_file("target", "rv_jax", RV_JAX)
    assert registry.sampler("dynesty").unsupported(target) is None


# -- the config check ------------------------------------------------------------------------


def _config(path, samplers=None, **target):
    return {
        "study": "lp",
        "replicates": [0],
        "targets": {"mine": {"file": str(path), **target}},
        "samplers": samplers or {"emcee": {}},
    }


def _problems(config) -> list[str]:
    with pytest.raises(ebconfig.ConfigError) as info:
        ebconfig.validate(config)
    return info.value.problems


def test_a_numpy_log_prob_refuses_gradient_samplers_in_one_line():
    config = _config(RV_NUMPY, {"emcee": {}, "numpyro_nuts": {}, "nutpie": {}, "pymc_nuts": {}})
    lines = _problems(config)
    assert len(lines) == 3
    for name in ("numpyro_nuts", "nutpie"):
        [line] = [x for x in lines if f"samplers.{name}:" in x]
        assert "needs a gradient: write `log_prob` with `jax.numpy`" in line
    [line] = [x for x in lines if "samplers.pymc_nuts:" in x]
    assert "needs a PyMC model (build_model); the target is a log_prob function" in line


def test_a_jax_log_prob_passes_with_every_sampler_that_takes_it():
    samplers = {
        name: {} for name in ("emcee", "emcee_vectorized", "zeus", "numpyro_nuts", "blackjax_nuts")
    }
    full = ebconfig.validate(_config(RV_JAX, {**samplers, "nutpie": {}, "dynesty": {}}))
    assert ebconfig.target_dims(full, "mine") == [7]  # counted, not stated


BAD = {
    "no_size.py": (
        "import jax.numpy as jnp\ndef log_prob(theta):\n    return -jnp.sum(theta ** 2)\n",
        "defines log_prob but neither PARAM_NAMES nor NDIM",
    ),
    "vector.py": (
        "import jax.numpy as jnp\nNDIM = 2\ndef log_prob(theta):\n    return -theta ** 2\n",
        "log_prob(theta) returned shape (2,), not a scalar",
    ),
    "not_finite.py": (
        "import numpy as np\nNDIM = 2\ndef log_prob(theta):\n    return -np.inf\n"
        "def truth(dim):\n    pass\n",
        "log_prob(theta) is -inf at initial point 0",
    ),
    "raises.py": (
        "NDIM = 2\ndef log_prob(theta):\n    return 1 / 0\n",
        "log_prob(theta) at initial point 0 raised ZeroDivisionError: division by zero",
    ),
    "bad_gradient.py": (
        "import jax.numpy as jnp\nNDIM = 2\n"
        "def log_prob(theta):\n    return -jnp.sum(jnp.sqrt(jnp.abs(theta) * 0.0))\n",
        "the JAX gradient of log_prob is not finite at initial point 0",
    ),
    "bad_initial.py": (
        "import jax.numpy as jnp\nNDIM = 2\ndef log_prob(theta):\n    return -jnp.sum(theta ** 2)\n"
        "def initial(rng, n):\n    return rng.normal(size=(n, 3))\n",
        "initial(rng, 4) raised ValueError: initial(rng, 4) returned shape (4, 3), not (4, 2)",
    ),
    "no_reference.py": (
        "import numpy as np\nNDIM = 2\n"
        "def log_prob(theta):\n    if theta[0] > 5:\n        return -np.inf\n"
        "    return -np.sum(theta ** 2)\n",
        "defines no truth(), log_prob is not a JAX function",
    ),
    "names_and_size.py": (
        "NDIM = 3\nPARAM_NAMES = ['a', 'b']\ndef log_prob(theta):\n    return 0.0\n",
        "NDIM = 3 but PARAM_NAMES has 2 names",
    ),
    "bad_transform.py": (
        "import jax.numpy as jnp\nNDIM = 2\ndef log_prob(theta):\n    return -jnp.sum(theta ** 2)\n"
        "def log_likelihood(theta):\n    return log_prob(theta)\n"
        "def prior_transform(u):\n    return u[:1]\n",
        "prior_transform(u) must return 2 finite numbers",
    ),
}


@pytest.mark.parametrize("name", sorted(BAD))
def test_a_bad_log_prob_file_is_one_line_naming_the_file(tmp_path, name):
    text, expected = BAD[name]
    (tmp_path / name).write_text(text)
    [line] = _problems(_config(tmp_path / name))
    assert "\n" not in line and f"config: targets.mine: {tmp_path / name}: " in line
    assert expected in line, line


def test_a_stated_dimension_must_be_the_size_of_theta():
    [line] = _problems(_config(RV_JAX, dims=[3]))
    assert "targets.mine.dims: 3 is not supported by target mine (allowed: 7 to 7)" in line


# -- runs -------------------------------------------------------------------------------------

RUNS = {
    # sampler: its options (short, for a two-parameter target)
    "emcee": {"burn": 300, "steps": 1500},
    "emcee_vectorized": {"burn": 300, "steps": 1500},
    "zeus": {"burn": 200, "steps": 800},
    "numpyro_nuts": {"tune": 300, "draws": 1000},
    "blackjax_nuts": {"tune": 300, "draws": 1000},
    "nutpie": {"tune": 300, "draws": 1000, "cores": 1},
    "dynesty": {"nlive": 300},
    "nautilus": {"n_live": 300, "n_eff": 3000, "n_networks": 1},
}


@pytest.fixture(scope="module")
def gauss():
    registry.load_file("target", "gauss_logprob", PLUGINS / "gauss_logprob.py")
    registry.load_file("target", "gauss_numpy", PLUGINS / "gauss_numpy.py")
    problems = {name: build_problem(name, 2) for name in ("gauss_logprob", "gauss_numpy")}
    yield problems
    registry.forget_user()


def _moments(run):
    x = run.draws.reshape(-1, run.draws.shape[2])
    w = np.full(len(x), 1 / len(x)) if run.weights is None else run.weights.ravel()
    mean = w @ x
    return mean, w @ (x - mean) ** 2


@pytest.mark.parametrize("sampler", sorted(RUNS))
def test_every_sampler_that_takes_a_jax_log_prob_recovers_its_truth(gauss, sampler):
    registry.load_file("target", "gauss_logprob", PLUGINS / "gauss_logprob.py")
    plugin = registry.sampler(sampler)
    problem = gauss["gauss_logprob"]
    run = plugin.run(problem, merged_options(plugin, RUNS[sampler]), seed=11)
    mean, var = _moments(run)
    module = problem.file
    assert np.all(np.abs(mean - module.MU) < 0.25 * module.SD), mean
    np.testing.assert_allclose(var, module.SD**2, rtol=0.3)
    work = run.grad_evals if plugin.NEEDS_GRADIENT else run.logp_evals
    assert work > 0 and run.compile_seconds > 0 and run.sampling_seconds > 0


@pytest.mark.parametrize("sampler", ["emcee", "dynesty"])
def test_gradient_free_samplers_run_a_numpy_log_prob(gauss, sampler):
    registry.load_file("target", "gauss_numpy", PLUGINS / "gauss_numpy.py")
    plugin = registry.sampler(sampler)
    problem = gauss["gauss_numpy"]
    assert not problem.jax
    run = plugin.run(problem, merged_options(plugin, RUNS[sampler]), seed=12)
    mean, var = _moments(run)
    assert np.all(np.abs(mean - problem.file.MU) < 0.25 * problem.file.SD), mean
    assert run.logp_evals > 0


def test_a_jax_log_prob_is_compiled_before_the_clock(gauss):
    """The batch's first run pays the jit in compile_seconds; the jitted function is kept
    for the batch (problem.cache), so a second run compiles nothing."""
    registry.load_file("target", "gauss_logprob", PLUGINS / "gauss_logprob.py")
    problem = build_problem("gauss_logprob", 2)
    plugin = registry.sampler("emcee_vectorized")
    options = merged_options(plugin, {"burn": 10, "steps": 50})
    first = plugin.run(problem, options, seed=1)
    assert {"log_prob_batched"} <= set(problem.cache)
    second = plugin.run(problem, options, seed=1)
    np.testing.assert_array_equal(first.draws, second.draws)  # same seed, same chain
    assert second.compile_seconds < first.compile_seconds


# -- references -------------------------------------------------------------------------------


def test_a_jax_log_prob_reference_is_jax_nuts_gated(gauss, monkeypatch):
    registry.load_file("target", "gauss_logprob", PLUGINS / "gauss_logprob.py")
    plugin = registry.target("gauss_logprob")
    monkeypatch.setattr(
        plugin.module, "REFERENCE_NUTS", {"chains": 4, "tune": 300, "draws": 5000}, raising=False
    )
    record = logprob.reference("gauss_logprob", 2, {}, "numba")
    assert (
        record["method"] == "numpyro_nuts"
        and record["ess_bulk_min"] > policy.REFERENCE_MIN_ESS_BULK
    )
    z = (np.array(record["mean"]) - plugin.module.MU) / np.array(record["mean_mcse"])
    assert np.all(np.abs(z) < 5)
    # The decision table's geometry, from the reference's draws: (2 / 0.5)^2 = 16.
    assert record["condition_number"] == pytest.approx(16, rel=0.15)
    # Too short to pass: the gates say so.
    monkeypatch.setattr(plugin.module, "REFERENCE_NUTS", {"chains": 2, "tune": 100, "draws": 200})
    with pytest.raises(Exception, match="failed its gates: bulk ESS"):
        logprob.reference("gauss_logprob", 2, {}, "numba")


def test_a_numpy_log_prob_reference_is_nested_sampling(gauss, monkeypatch):
    registry.load_file("target", "gauss_numpy", PLUGINS / "gauss_numpy.py")
    module = registry.target("gauss_numpy").module
    # A smaller gate for the test's time: the route and its gating are what is checked.
    monkeypatch.setattr(policy, "REFERENCE_MIN_ESS_BULK", 1500)
    monkeypatch.setattr(module, "REFERENCE_NESTED", {"n_live": 300, "n_networks": 1}, raising=False)
    record = logprob.reference("gauss_numpy", 2, {}, "numba")
    assert record["method"] == "nautilus" and record["ess_kish"] > 1500
    z = (np.array(record["mean"]) - module.MU) / np.array(record["mean_mcse"])
    assert np.all(np.abs(z) < 5)
    np.testing.assert_allclose(record["var"], module.SD**2, rtol=0.15)
    assert record["condition_number"] == pytest.approx(16, rel=0.3)  # weighted draws


# -- end to end -------------------------------------------------------------------------------


@pytest.mark.workflow
def test_a_log_prob_study_runs_end_to_end(tmp_path):
    """A JAX and a NumPy log_prob file, without truth: the reference rule computes their
    moments (JAX NUTS, nautilus), and every sampler is judged against them."""
    mine = tmp_path / "plugins"
    mine.mkdir()
    jax_file = (PLUGINS / "gauss_logprob.py").read_text()
    jax_file = jax_file.replace("def truth(", "def _truth(").replace("def sample_truth(", "def _s(")
    jax_file += textwrap.dedent(
        """
        REFERENCE_NUTS = {"chains": 4, "tune": 300, "draws": 5000}
        """
    )
    (mine / "g_jax.py").write_text(jax_file)
    numpy_file = (PLUGINS / "gauss_numpy.py").read_text()
    numpy_file += '\nREFERENCE_NESTED = {"n_live": 300, "n_networks": 1}\n'
    (mine / "g_numpy.py").write_text(numpy_file)
    config = {
        "study": "lp",
        "study_seed": 3,
        "replicates": [0],
        "targets": {
            "g_jax": {"file": "plugins/g_jax.py"},
            "g_numpy": {"file": "plugins/g_numpy.py"},
        },
        "samplers": {"emcee_vectorized": {"burn": 200, "steps": 800}, "dynesty": {"nlive": 200}},
    }
    (tmp_path / "lp.yaml").write_text(yaml.safe_dump(config))
    snakemake("--cores", "2", "--configfile", "lp.yaml", cwd=tmp_path)
    runs = pd.read_parquet(tmp_path / "results" / "lp" / "tables" / "runs.parquet")
    assert len(runs) == 4 and (runs["status"] == "ok").all()
    assert set(runs["truth_source"]) == {"reference"} and (runs["logp_evals"] > 0).all()
    refs = sorted((tmp_path / "results" / "shared" / "reference").rglob("*.json"))
    methods = {json.loads(p.read_text())["method"] for p in refs}
    assert methods == {"numpyro_nuts", "nautilus"}
