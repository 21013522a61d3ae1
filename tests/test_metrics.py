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
    out = metrics.ess_rhat(draws)
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
    out = metrics.ess_rhat(draws)
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
