import math
import warnings

import numpy as np
import pytest

from essbench import metrics, policy


def test_cost_per_ess_by_hand():
    assert metrics.cost_per_ess(2.0, 4.0) == 0.5
    assert math.isnan(metrics.cost_per_ess(2.0, 0.0))
    assert math.isnan(metrics.cost_per_ess(2.0, float("nan")))


def test_iid_draws_have_ess_near_n_and_rhat_near_one():
    rng = np.random.default_rng(1)
    draws = rng.standard_normal((4, 1000, 5))
    out = metrics.summarize_ess_rhat(metrics.per_parameter(draws))
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
    out = metrics.summarize_ess_rhat(metrics.per_parameter(draws))
    assert out["ess_bulk_mean"] == pytest.approx(expected, rel=0.2)
    ac = metrics.autocorr(draws)
    assert ac["tau_max"] == pytest.approx(tau, rel=0.25)
    assert ac["ess_autocorr"] == pytest.approx(expected, rel=0.25)
    assert ac["chain_over_tau"] == pytest.approx(steps / ac["tau_max"])
    assert ac["chain_over_tau"] > policy.MIN_CHAIN_OVER_TAU


def test_short_chain_is_below_emcee_trust_rule():
    rng = np.random.default_rng(3)
    draws = _ar1(rng, 0.95, 16, 300, 2)  # tau = 39, so steps / tau is about 8
    assert metrics.autocorr(draws)["chain_over_tau"] < policy.MIN_CHAIN_OVER_TAU


def test_bias_z_detects_a_shifted_mean_and_passes_the_truth():
    rng = np.random.default_rng(4)
    draws = rng.standard_normal((4, 1000, 3))
    good = metrics.bias_z(draws, np.zeros(3), np.ones(3))
    assert good["z_mean_max"] < policy.bias_threshold(3)
    assert good["z_var_max"] < policy.bias_threshold(3)
    bad = metrics.bias_z(draws + 0.2, np.zeros(3), np.ones(3))
    # The MCSE of the mean of 4000 iid N(0,1) is 1/sqrt(4000) = 0.0158: z is about 12.6.
    assert bad["z_mean_max"] == pytest.approx(0.2 / (1 / math.sqrt(4000)), rel=0.2)
    wide = metrics.bias_z(draws * 1.3, np.zeros(3), np.ones(3))
    assert wide["z_var_max"] > policy.bias_threshold(3)


def test_bias_threshold_is_bonferroni():
    assert policy.bias_threshold(1) == pytest.approx(3.2905, abs=1e-3)
    assert policy.bias_threshold(100) > policy.bias_threshold(10) > policy.bias_threshold(1)
    from scipy.stats import norm

    for k in (1, 7, 50, 1000):
        assert policy.bias_threshold(k) == norm.isf(policy.BIAS_FAMILY_ALPHA / (2 * k))


def _emcee_like(rng, chains, steps, params, accept=0.25, rho=0.9):
    """AR(1) chains that, like emcee's walkers, repeat their value after a rejected move."""
    x = _ar1(rng, rho, chains, steps, params)
    for t in range(1, steps):
        stay = rng.random((chains, params)) > accept
        x[:, t][stay] = x[:, t - 1][stay]
    return x


def _assert_equal_to_arviz_and_emcee(draws, threads=1):
    """Every per-parameter number and emcee's tau, against the plain calls, at rtol 1e-10."""
    import emcee
    from arviz_stats.base import array_stats as st

    kw = dict(chain_axis=0, draw_axis=1)
    chains, steps, _ = draws.shape
    ours = metrics.per_parameter(draws, threads=threads, walkers=True)
    close = dict(rtol=1e-10, atol=0)
    np.testing.assert_allclose(ours["ess_bulk"], st.ess(draws, method="bulk", **kw), **close)
    tail = st.ess(draws, method="tail", prob=metrics.TAIL_PROB, **kw)
    np.testing.assert_allclose(ours["ess_tail"], tail, **close)
    np.testing.assert_allclose(ours["mcse_mean"], st.mcse(draws, method="mean", **kw), **close)
    mean = draws.mean(axis=(0, 1))
    sq = (draws - mean) ** 2
    np.testing.assert_allclose(ours["mcse_var"], st.mcse(sq, method="mean", **kw), **close)
    np.testing.assert_allclose(ours["mean"], mean, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(ours["var"], sq.mean(axis=(0, 1)), rtol=1e-12, atol=1e-15)
    if chains > 1:
        np.testing.assert_allclose(ours["rhat"], st.rhat(draws, method="rank", **kw), **close)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # short chains; constant walkers divide by zero
            tau = emcee.autocorr.integrated_time(np.swapaxes(draws, 0, 1), quiet=True)
            ac = metrics.autocorr(draws, threads=threads)
            fused = metrics.autocorr(draws, threads=threads, per_param=ours)
        np.testing.assert_allclose(ours["tau"], tau, **close)
        ess = np.mean(steps * chains / tau)
        for found in (ac, fused):
            np.testing.assert_allclose(found["tau_max"], np.max(tau), **close)
            np.testing.assert_allclose(found["ess_autocorr"], ess, **close)
    else:
        assert np.isnan(ours["rhat"]).all()


@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("shape", [(4, 300, 3), (7, 201, 2), (1, 50, 1)])
def test_diagnostics_equal_arviz_and_emcee(shape, threads):
    """Our per-parameter path gives exactly ArviZ's and emcee's numbers, ties included."""
    rng = np.random.default_rng(sum(shape))
    draws = _ar1(rng, 0.5, *shape)
    draws[:, 20:30] = draws[:, 19:20]  # repeated values, as emcee's rejected moves make
    _assert_equal_to_arviz_and_emcee(draws, threads)


@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # ArviZ's R-hat of 2 x 4 draws: 0 / 0
@pytest.mark.parametrize(
    "shape",
    [(24, 400, 2), (24, 401, 2), (9, 1000, 1), (1, 600, 2), (2, 4, 1), (3, 5, 2), (124, 200, 1)],
)
def test_emcee_like_repeats_equal_arviz_and_emcee(shape):
    """Four draws in five repeat the last (runs), odd lengths, one chain, tiny chains."""
    rng = np.random.default_rng(len(shape) + shape[1])
    _assert_equal_to_arviz_and_emcee(_emcee_like(rng, *shape))


def test_ties_constants_and_nan_equal_arviz():
    """Ties across chains and at the tail quantiles, a constant parameter, and nan."""
    rng = np.random.default_rng(7)
    draws = _emcee_like(rng, 12, 300, 5)
    draws[:, :, 1] = 2.5  # constant: ArviZ's ESS is the draw count, its R-hat nan
    draws[:, :, 2] = np.round(draws[:, :, 2])  # a few values, each tied across chains
    draws[:, :, 3] = np.abs(np.round(draws[:, :, 3], 1))  # ties around the fold's median
    draws[:, 150:, 4] = draws[:, 149:150, 4]  # half of each chain one run
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        _assert_equal_to_arviz_and_emcee(draws)
    draws[3, 7, 0] = np.nan  # ArviZ: nan for every diagnostic of that parameter
    ours = metrics.per_parameter(draws)
    for key in ("ess_bulk", "ess_tail", "rhat", "mcse_mean", "mcse_var"):
        assert np.isnan(ours[key][0]) and not np.isnan(ours[key][2])


@pytest.mark.parametrize("max_pairs_per_draw", [0.0, 1e9])
def test_tail_ess_by_counting_and_by_fft_equal_arviz(monkeypatch, max_pairs_per_draw):
    """The tail ESS counted from intervals of ones and the FFT fallback are both ArviZ's."""
    from arviz_stats.base import array_stats as st

    monkeypatch.setattr(metrics, "_MAX_PAIRS_PER_DRAW", max_pairs_per_draw)
    rng = np.random.default_rng(11)
    draws = np.concatenate([_emcee_like(rng, 8, 500, 2), _ar1(rng, 0.0, 8, 500, 2)], axis=2)
    draws[:, :, 1] = np.round(draws[:, :, 1], 1)  # many draws equal to the quantiles
    kw = dict(chain_axis=0, draw_axis=1)
    ours = metrics.per_parameter(draws)["ess_tail"]
    tail = st.ess(draws, method="tail", prob=metrics.TAIL_PROB, **kw)
    np.testing.assert_allclose(ours, tail, rtol=1e-10, atol=0)


@pytest.mark.parametrize("rho", [-0.9, -0.3, 0.0, 0.6, 0.97])
@pytest.mark.parametrize("steps", [4, 5, 9, 60, 301])
def test_ess_identity_equals_arviz_loops(rho, steps):
    """Geyer's sequences as array operations: stops, kept pairs and monotone lowering."""
    from arviz_stats.base import array_stats as st

    rng = np.random.default_rng(steps)
    for chains in (1, 3):
        block = _ar1(rng, rho, chains, steps, 1)[:, :, 0]
        expected = st.ess(block, method="identity", chain_axis=0, draw_axis=1)
        assert metrics._ess_identity(block) == pytest.approx(expected, rel=1e-10)


@pytest.mark.parametrize(
    "rho, steps, lags_tried",
    [(0.5, 2000, 1), (0.995, 300, 2), (0.999, 60, 2)],  # emcee's window below n/2, above
)
def test_integrated_time_equals_emcee(monkeypatch, rho, steps, lags_tried):
    """emcee's tau from the lags below n / 2 (one short FFT) or, failing them, from all."""
    import emcee

    calls = []
    power_sum = metrics._power_sum
    monkeypatch.setattr(
        metrics, "_power_sum", lambda *a, **k: calls.append(1) or power_sum(*a, **k)
    )
    walkers = _emcee_like(np.random.default_rng(steps), 8, steps, 1, accept=0.3, rho=rho)[:, :, 0]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        tau = emcee.autocorr.integrated_time(walkers.T[:, :, None], quiet=True)[0]
    assert metrics._integrated_time_1param(walkers) == pytest.approx(tau, rel=1e-10)
    assert len(calls) == lags_tried


@pytest.mark.parametrize("walkers, steps", [(1, 40), (5, 600), (32, 2000)])
def test_tau_from_split_spectra_equals_emcee(walkers, steps):
    """emcee's tau from the split chains' spectra (halves' autocovariances, their cross-
    correlation, mean shifts), and the split chains' mean autocovariance, both unchanged."""
    import emcee

    rng = np.random.default_rng(walkers + steps)
    x = _emcee_like(rng, walkers, steps, 1, accept=0.3, rho=0.98)[:, :, 0] + 3.0
    x[0, steps // 2 :] = x[0, 0] + 1.0  # a walker whose second half is one run
    split = metrics._split_chains(x)
    means = split.mean(axis=1)
    acov, tau = metrics._split_acov_and_tau(split, means)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        expected = emcee.autocorr.integrated_time(x.T[:, :, None], quiet=True)[0]
    assert tau == pytest.approx(expected, rel=1e-10)
    direct = metrics._mean_autocov(lambda a, b: split[a:b], split.shape, means)
    np.testing.assert_allclose(acov, direct, rtol=1e-10, atol=1e-12 * direct[0])


def test_per_parameter_takes_tau_from_the_split_spectra(monkeypatch):
    """Even lengths never transform the walkers a second time; odd ones (no halves) do."""
    draws = _emcee_like(np.random.default_rng(3), 6, 100, 2)
    calls = []
    integrated_time = metrics._integrated_time_1param
    monkeypatch.setattr(
        metrics, "_integrated_time_1param", lambda x: calls.append(x.shape) or integrated_time(x)
    )
    metrics.per_parameter(draws, walkers=True)
    assert calls == []
    metrics.per_parameter(draws[:, :99], walkers=True)
    assert calls == [(6, 99), (6, 99)]


def test_weighted_ranks_and_order_statistics_equal_scipy_and_numpy():
    from scipy.stats import rankdata

    rng = np.random.default_rng(5)
    for n_chain, n_draw in [(3, 40), (2, 7), (5, 1)]:
        rows = np.round(rng.standard_normal((n_chain, n_draw)), 1)
        rows[:, 1::3] = rows[:, 0::3][:, : rows[:, 1::3].shape[1]]  # runs
        runs = metrics._Runs(rows)
        np.testing.assert_array_equal(runs.expand(runs.values), rows)
        twice = np.empty(runs.values.size, dtype=np.int64)
        twice[runs.order] = metrics._twice_ranks(runs.ordered, runs.ordered_lengths)
        np.testing.assert_array_equal(
            (runs.expand(twice) + 2) / 2, rankdata(rows).reshape(rows.shape)
        )
        assert runs.median() == np.median(rows)
        for prob in (0.0, 0.05, 0.37, 0.5, 0.95, 1.0):
            assert runs.quantile(prob) == np.quantile(rows, prob)


def test_bias_z_uses_per_parameter_moments():
    rng = np.random.default_rng(9)
    draws = _emcee_like(rng, 6, 400, 3)
    per = metrics.per_parameter(draws)
    plain = {k: per[k] for k in ("mcse_mean", "mcse_var")}  # without mean and var
    truth = (np.zeros(3), np.ones(3))
    reused, computed = metrics.bias_z(draws, *truth, per), metrics.bias_z(draws, *truth, plain)
    for key in ("z_mean_max", "z_var_max"):
        assert reused[key] == pytest.approx(computed[key], rel=1e-10)


def test_average_ranks_match_scipy():
    from scipy.stats import rankdata

    x = np.array([3.0, 1.0, 3.0, 2.0, 3.0, 0.5, 1.0])
    order = np.argsort(x)
    twice = np.empty(x.size, dtype=np.int64)
    twice[order] = metrics._twice_ranks(x[order], np.ones(x.size, dtype=np.int64))
    np.testing.assert_array_equal((twice + 2) / 2, rankdata(x))


def test_ess_bulk_alone_is_per_parameter_s():
    """The time-to-target check's lean bulk ESS equals the full diagnostics' one, with
    emcee-like repeated values and an odd chain length."""
    rng = np.random.default_rng(3)
    x = np.repeat(np.cumsum(rng.standard_normal((3, 134, 4)), axis=1), 3, axis=1)[:, :401]
    np.testing.assert_array_equal(
        metrics.ess_bulk(x, threads=2), metrics.per_parameter(x)["ess_bulk"]
    )


def test_per_parameter_once_computes_each_arrays_diagnostics_once(monkeypatch):
    """The ESS goal's last check, diagnose and the flag figures ask about the same draws:
    the second ask is answered from the first, a different array (even equal) is not."""
    rng = np.random.default_rng(3)
    draws = rng.normal(size=(4, 300, 5))
    plain = metrics.per_parameter(draws, walkers=True)
    calls = []
    real = metrics.per_parameter
    monkeypatch.setattr(metrics, "per_parameter", lambda *a, **k: calls.append(1) or real(*a, **k))
    first = metrics.per_parameter_once(draws, 2, walkers=True)
    second = metrics.per_parameter_once(draws, 1, walkers=True)
    assert len(calls) == 1
    for key, values in plain.items():
        np.testing.assert_array_equal(first[key], values)
        np.testing.assert_array_equal(second[key], values)
    second["z_mean"] = np.zeros(5)  # a caller's own key stays its own
    assert "z_mean" not in metrics.per_parameter_once(draws, walkers=True)
    with pytest.raises(ValueError):  # nor can it change the shared arrays
        first["ess_bulk"][0] = 0.0
    metrics.per_parameter_once(draws.copy(), walkers=True)
    metrics.per_parameter_once(draws, walkers=False)  # no tau: another answer
    assert len(calls) == 3
    assert "tau" not in metrics.per_parameter_once(draws, walkers=False)


@pytest.mark.parametrize("dfn", [1, 3, 7, 31])
@pytest.mark.parametrize("dfd", [30, 1000, 64_000])
@pytest.mark.parametrize("p", [0.025, 1e-4, 1e-8])
def test_the_f_inverse_survival_function_is_scipy_stats(p, dfn, dfd):
    """policy.f_isf (the R-hat threshold's F quantile) without importing scipy.stats."""
    from scipy.stats import f

    assert policy.f_isf(p, dfn, dfd) == pytest.approx(f.isf(p, dfn, dfd), rel=1e-9)
