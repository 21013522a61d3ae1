import math

import numpy as np
import pytest

from essbench import metrics


def test_cost_per_ess_by_hand():
    assert metrics.cost_per_ess(2.0, 4.0) == 0.5
    assert math.isnan(metrics.cost_per_ess(2.0, 0.0))
    assert math.isnan(metrics.cost_per_ess(2.0, float("nan")))


def test_iid_draws_have_ess_near_n_and_rhat_near_one():
    rng = np.random.default_rng(1)
    draws = rng.standard_normal((4, 1000, 5))
    out = metrics.summarize_ess_rhat(metrics.ess_rhat(draws))
    assert 3000 < out["ess_bulk_mean"] < 5500
    assert out["ess_bulk_min"] <= out["ess_bulk_mean"]
    assert 2500 < out["ess_tail_min"] < 5500
    assert 1.0 - 1e-9 < out["rhat_max"] < 1.01


def _ar1(rng, rho, chains, steps, params):
    x = np.empty((chains, steps, params))
    x[:, 0] = rng.standard_normal((chains, params))
    noise = rng.standard_normal((chains, steps, params)) * math.sqrt(1 - rho**2)
    for t in range(1, steps):
        x[:, t] = rho * x[:, t - 1] + noise[:, t]
    return x


def test_ar1_ess_matches_its_known_autocorrelation_time():
    # AR(1) with coefficient rho has tau = (1 + rho) / (1 - rho); here tau = 9.
    rng = np.random.default_rng(2)
    rho, chains, steps = 0.8, 8, 5000
    draws = _ar1(rng, rho, chains, steps, 3)
    tau = (1 + rho) / (1 - rho)
    expected = chains * steps / tau
    out = metrics.summarize_ess_rhat(metrics.ess_rhat(draws))
    assert out["ess_bulk_mean"] == pytest.approx(expected, rel=0.2)
    ac = metrics.autocorr(draws)
    assert ac["tau_max"] == pytest.approx(tau, rel=0.25)
    assert ac["ess_autocorr"] == pytest.approx(expected, rel=0.25)
    assert ac["chain_over_tau"] == pytest.approx(steps / ac["tau_max"])
    assert ac["chain_over_tau"] > metrics.MIN_CHAIN_OVER_TAU


def test_short_chain_is_below_emcee_trust_rule():
    rng = np.random.default_rng(3)
    draws = _ar1(rng, 0.95, 16, 300, 2)  # tau = 39, so steps / tau is about 8
    assert metrics.autocorr(draws)["chain_over_tau"] < metrics.MIN_CHAIN_OVER_TAU


def test_bias_z_detects_a_shifted_mean_and_passes_the_truth():
    rng = np.random.default_rng(4)
    draws = rng.standard_normal((4, 1000, 3))
    good = metrics.bias_z(draws, np.zeros(3), np.ones(3))
    assert good["z_mean_max"] < metrics.bias_threshold(3)
    assert good["z_var_max"] < metrics.bias_threshold(3)
    bad = metrics.bias_z(draws + 0.2, np.zeros(3), np.ones(3))
    # The MCSE of the mean of 4000 iid N(0,1) is 1/sqrt(4000) = 0.0158: z is about 12.6.
    assert bad["z_mean_max"] == pytest.approx(0.2 / (1 / math.sqrt(4000)), rel=0.2)
    wide = metrics.bias_z(draws * 1.3, np.zeros(3), np.ones(3))
    assert wide["z_var_max"] > metrics.bias_threshold(3)


def test_bias_threshold_is_bonferroni():
    assert metrics.bias_threshold(1) == pytest.approx(3.2905, abs=1e-3)
    assert metrics.bias_threshold(100) > metrics.bias_threshold(10) > metrics.bias_threshold(1)


@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("shape", [(4, 300, 3), (7, 201, 2), (1, 50, 1)])
def test_diagnostics_equal_arviz_and_emcee(shape, threads):
    """Our per-parameter path gives exactly ArviZ's and emcee's numbers, ties included."""
    import emcee
    from arviz_stats.base import array_stats as st

    rng = np.random.default_rng(sum(shape))
    draws = _ar1(rng, 0.5, *shape)
    draws[:, 20:30] = draws[:, 19:20]  # repeated values, as emcee's rejected moves make
    kw = dict(chain_axis=0, draw_axis=1)
    ours = metrics.per_parameter(draws, threads=threads)
    np.testing.assert_allclose(ours["ess_bulk"], st.ess(draws, method="bulk", **kw), rtol=1e-10)
    np.testing.assert_allclose(
        ours["ess_tail"], st.ess(draws, method="tail", prob=(0.05, 0.95), **kw), rtol=1e-10
    )
    np.testing.assert_allclose(ours["mcse_mean"], st.mcse(draws, method="mean", **kw), rtol=1e-10)
    if shape[0] > 1:
        np.testing.assert_allclose(ours["rhat"], st.rhat(draws, method="rank", **kw), rtol=1e-10)
        tau = emcee.autocorr.integrated_time(np.swapaxes(draws, 0, 1), quiet=True)
        ac = metrics.autocorr(draws, threads=threads)
        assert ac["tau_max"] == pytest.approx(float(np.max(tau)), rel=1e-10)
        assert ac["ess_autocorr"] == pytest.approx(
            float(np.mean(shape[1] * shape[0] / tau)), rel=1e-10
        )


def test_average_ranks_match_scipy():
    from scipy.stats import rankdata

    x = np.array([3.0, 1.0, 3.0, 2.0, 3.0, 0.5, 1.0])
    np.testing.assert_array_equal((metrics._average_ranks(x) + 2) / 2, rankdata(x))
