"""The JAX samplers (NumPyro, BlackJAX): seeding, chain methods, threads and XLA flags."""

from pathlib import Path

import numpy as np
import pytest

from essbench import registry
from essbench.problem import build_problem
from essbench.samplers import _jax, merged_options

REPO = Path(__file__).resolve().parents[1]
JAX_SAMPLERS = ("numpyro_nuts", "blackjax_nuts")
SHORT = {"tune": 100, "draws": 100, "chains": 2}


@pytest.fixture(scope="module")
def problem():
    return build_problem("gaussian_iid", 3)


def test_xla_flags_ours_first_and_replacing_the_same_flags():
    flags = _jax.xla_flags(
        "--xla_force_host_platform_device_count=100 --xla_cpu_multi_thread_eigen=true"
        " --xla_dump_to=/tmp/x",
        devices=2,
    )
    assert flags.split() == [
        "--xla_cpu_multi_thread_eigen=false",
        "--xla_force_host_platform_device_count=2",
        "--xla_dump_to=/tmp/x",
    ]
    assert _jax.xla_flags("", 1).split()[0] == "--xla_cpu_multi_thread_eigen=false"


@pytest.mark.parametrize("name", JAX_SAMPLERS)
def test_threads_follow_chain_method(name):
    module = registry.sampler(name)
    assert module.ENV == "jax"
    for method, expected in (("sequential", 1), ("vectorized", 1), ("parallel", 4)):
        assert module.threads(merged_options(module, {"chains": 4, "chain_method": method})) == (
            expected
        )
    assert set(module.OPTIONS["chain_method"].choices) == {"sequential", "vectorized", "parallel"}


def test_every_sampler_env_has_a_file():
    for name, module in registry.samplers().items():
        env = module.ENV
        assert (REPO / "envs" / f"{env}.yaml").is_file(), f"{name}: no envs/{env}.yaml"


@pytest.mark.parametrize("name", JAX_SAMPLERS)
def test_seed_reproduces_and_chain_methods_agree(problem, name):
    module = registry.sampler(name)

    def run(seed, method):
        return module.run(problem, merged_options(module, {**SHORT, "chain_method": method}), seed)

    first, again = run(5, "sequential"), run(5, "sequential")
    assert first.draws.shape == (2, 100, problem.ndim)
    np.testing.assert_array_equal(first.draws, again.draws)
    assert first.grad_evals == again.grad_evals > 0
    # The same keys and starts whatever runs the chains: pmap gives the same chains.
    parallel = run(5, "parallel")
    np.testing.assert_allclose(parallel.draws, first.draws, rtol=1e-6, atol=1e-8)
    assert parallel.grad_evals == first.grad_evals
    other = run(6, "vectorized")
    assert other.draws.shape == first.draws.shape and np.all(np.isfinite(other.draws))
    assert not np.allclose(other.draws, first.draws)
    for result in (first, parallel, other):
        assert result.compile_seconds > 0 and result.warmup_seconds > 0
        assert result.draw_seconds > 0 and result.logp_evals == 0
        stats = result.stats
        assert stats["tree_size_mean"] * 2 * 100 < result.grad_evals
        assert {"divergences", "step_size_mean", "acceptance_mean"} <= set(stats)
        # per chain: the median of the chains' mean trees lies within them; L = mean over
        # chains of step size x mean tree (the MCHMC benchmarks' "L")
        assert 1 <= stats["tree_size_chain_median"] <= stats["tree_size_chain_max"]
        assert stats["tree_size_chain_max"] >= stats["tree_size_mean"]
        assert stats["trajectory_length_mean"] > 0


@pytest.mark.parametrize("name", JAX_SAMPLERS)
def test_a_batch_compiles_once_and_pays_the_first_execution_before_the_clock(name):
    """The runs of a batch share their problem: the second run reuses the first one's
    compiled functions (same draws as a fresh process would give), and a short run executes
    freshly compiled functions once, untimed, when the last run on the problem says it is
    short (benchmarks/jax_gap.py: the first execution costs milliseconds)."""
    module = registry.sampler(name)
    options = merged_options(module, {**SHORT, "chain_method": "sequential"})
    batch = build_problem("gaussian_iid", 3)
    # no estimate yet (no earlier run on this problem): nothing extra is executed
    first = module.run(batch, options, 5)
    assert first.stats["first_execution_seconds"] == 0.0
    # the same options again: compiled functions reused, and they have run already
    again = module.run(batch, options, 7)
    assert again.stats["first_execution_seconds"] == 0.0
    assert again.compile_seconds < first.compile_seconds
    fresh = module.run(build_problem("gaussian_iid", 3), options, 7)
    np.testing.assert_array_equal(again.draws, fresh.draws)
    # other options (a longer run) compile anew; the last run's seconds per step say it is
    # short, so its functions run once before the clock
    longer = module.run(batch, {**options, "draws": 150}, 7)
    assert longer.stats["first_execution_seconds"] > 0
    assert longer.draws.shape == (2, 150, 3)
