"""Issue 28: a wrong answer is always caught. The bias test is scaled by the truth's spread
(a failure cannot weaken it), and no run whose mean is a posterior SD off the truth is ever
"recovered": the flag, the "Truth recovered" table and the verdict agree."""

import math

import numpy as np
import pandas as pd
import pytest
from scipy.signal import lfilter

from essbench import aggregate, metrics, pipeline, policy, report, verdict


def _diagnosed(draws, ensemble=False, target="gaussian_iid"):
    record = {
        "status": "ok",
        "target": target,
        "dim": draws.shape[2],
        "sampling_seconds": 1.0,
        "ensemble": ensemble,
    }
    return pipeline.diagnose(record, np.ascontiguousarray(draws))


def test_an_over_dispersed_run_cannot_weaken_its_own_mean_test():
    """Draws twice too wide and shifted by 0.1 SD: scaled by the run's own spread (the old
    MCSE) the shift passes; scaled by the truth's it is found."""
    rng = np.random.default_rng(11)
    noise = rng.standard_normal((4, 1000, 3))
    draws = 2.0 * (noise - noise.mean(axis=(0, 1))) + 0.1  # every mean exactly 0.1
    truth = (np.zeros(3), np.ones(3))
    threshold = policy.bias_threshold(2 * 3)
    per = metrics.per_parameter(draws)
    own_scale = np.max(np.abs(per["mean"]) / per["mcse_mean"])
    assert own_scale < threshold  # what the old test saw
    z = metrics.bias_z(draws, *truth, per)
    assert z["z_mean_max"] > threshold
    assert z["z_var_max"] > threshold  # four times the variance
    # both z-scores follow the truth: about 0.1 / (1 / sqrt(4000)) = 6.3 for the mean
    assert z["z_mean_max"] == pytest.approx(0.1 * math.sqrt(4000), rel=0.35)


def test_the_scale_is_the_truth_s_over_the_run_s_ess():
    """Correlated chains (AR(1), ESS about n (1 - φ) / (1 + φ)): the z of a known shift is
    the shift over sqrt(true var / ESS), not over sqrt(true var / n)."""
    rng = np.random.default_rng(12)
    phi, n = 0.8, 4000
    noise = rng.standard_normal((4, 2, n)) * math.sqrt(1 - phi**2)
    draws = lfilter([1.0], [1.0, -phi], noise, axis=2).transpose(0, 2, 1) + 0.2
    z = metrics.bias_z(np.ascontiguousarray(draws), np.zeros(2), np.ones(2))
    ess = 4 * n * (1 - phi) / (1 + phi)
    assert z["z_mean_max"] == pytest.approx(0.2 * math.sqrt(ess), rel=0.3)
    assert z["error_sd_max"] == pytest.approx(0.2, abs=0.1)


def test_a_run_a_posterior_sd_off_is_biased_whatever_its_ess():
    """Chains that barely move (AR(1), φ = 0.999: a bulk ESS of a few), all 1.3 SD off: the
    z-scores are weak by construction, the one-posterior-SD rule is not."""
    rng = np.random.default_rng(13)
    noise = rng.standard_normal((4, 3, 1000)) * math.sqrt(1 - 0.999**2)
    draws = lfilter([1.0], [1.0, -0.999], noise, axis=2).transpose(0, 2, 1) + 1.3
    record = _diagnosed(draws)
    assert record["error_sd_max"] > policy.MAX_ERROR_SD
    assert record["biased"] and record["off_by_sd"]
    assert "posterior SD from the truth" in record["bias_reason"]


def test_the_one_sd_rule_alone_flags_a_run_whose_z_scores_pass():
    quiet = {"z_mean_max": 1.0, "z_var_max": 1.0, "z_quantile_max": math.nan}
    assert not policy.bias_verdict(quiet | {"error_sd_max": 0.9}, 4)["biased"]
    flagged = policy.bias_verdict(quiet | {"error_sd_max": 1.1}, 4)
    assert flagged["biased"] and flagged["off_by_sd"]
    assert flagged["bias_reason"] == "a mean 1.1 posterior SD from the truth (> 1)"
    assert policy.bias_verdict(quiet | {"error_sd_max": 0.2}, 4)["bias_reason"] == ""


def test_a_quarter_of_the_walkers_stuck_far_away_is_biased_and_unreliable():
    rng = np.random.default_rng(14)
    draws = rng.standard_normal((20, 2000, 4))
    draws[:5] = 5.0 + 0.05 * rng.standard_normal((5, 2000, 4))  # stuck 5 SD away
    record = _diagnosed(draws, ensemble=True)
    assert record["error_sd_max"] > policy.MAX_ERROR_SD and record["biased"]
    assert record["unreliable"]


def test_exact_draws_are_never_near_one_posterior_sd():
    rng = np.random.RandomState(15)
    from essbench import calibration

    for target in ("gaussian_iid", "neals_funnel"):
        record = calibration.exact_record(target, 8, {}, (2, 500), rng)
        assert record["error_sd_max"] < 0.25 and not record["off_by_sd"], target


def _runs(emcee_biased=True, emcee_error=1.1):
    rows = []
    for rep in range(3):
        for sampler, cost, biased, error in (
            ("emcee", 1e-3, emcee_biased, emcee_error),
            ("nutpie", 6e-5, False, 0.02),
        ):
            rows.append(
                {
                    "sampler": sampler,
                    "target": "radon",
                    "dim": 89,
                    "replicate": rep,
                    "status": "ok",
                    "cost_per_ess_mean": cost,
                    "sampling_seconds": cost * 1000,
                    "unreliable": False,
                    "unreliable_reason": "",
                    "biased": biased,
                    "error_sd_max": error,
                    "bias_test": "mean+variance",
                    "truth_source": "reference",
                    "option_steps": 5000.0 if sampler == "emcee" else np.nan,
                    "option_draws": 1000.0 if sampler == "nutpie" else np.nan,
                }
            )
    return pd.DataFrame(rows)


def test_a_verdict_against_a_sampler_that_missed_the_truth_says_so_not_a_ratio():
    [sentence] = verdict.sentences(_runs(), "emcee")
    assert sentence == (
        "On `radon` at d = 89, `emcee` did not recover the posterior in 5,000 steps per walker"
        " (3 of 3 runs biased; a mean up to 1.1 posterior SD off); `nutpie` did, at 0.06 ms"
        " per effective sample."
    )
    assert "×" not in sentence
    # the other way round: the baseline recovered it, the contender did not
    [other] = verdict.sentences(_runs(), "nutpie")
    assert other.startswith("On `radon` at d = 89, `emcee` did not recover the posterior")
    assert other.endswith("`nutpie` did, at 0.06 ms per effective sample.")


def test_one_run_a_posterior_sd_off_is_enough_a_biased_minority_is_a_caveat():
    runs = _runs(emcee_biased=False, emcee_error=0.05)
    [fine] = verdict.sentences(runs, "nutpie")
    assert "costs" in fine and "×" in fine
    one_off = runs.copy()
    first = one_off.index[(one_off["sampler"] == "emcee")][0]
    one_off.loc[first, "error_sd_max"] = 1.4
    [said] = verdict.sentences(one_off, "nutpie")
    assert "`emcee` did not recover the posterior" in said and "1.4 posterior SD" in said
    minority = runs.copy()
    minority.loc[first, "biased"] = True  # a small, significant error in one run of three
    [caveat] = verdict.sentences(minority, "nutpie")
    assert "×" in caveat and "1 of 3 of emcee's runs are biased against the truth" in caveat


def test_truth_recovered_table_and_flag_follow_the_rule_on_old_records():
    """A record diagnosed before the rule (``biased`` False from its z-scores, no
    ``error_sd_max``) whose mean is 1.5 SD off is not recovered, in the runs table's flag
    and in the summary's table."""
    base = {
        "target": "gaussian_iid",
        "dim": 2,
        "status": "ok",
        "bias_test": "mean+quantiles",
        "truth_source": "analytic",
        "truth_mean": [0.0, 0.0],
        "truth_var": [4.0, 1.0],
        "sampling_seconds": 1.0,
        "cost_per_ess_mean": 1e-3,
    }
    records = [
        base | {"sampler": "emcee", "replicate": 0, "biased": False, "param_mean": [3.0, 0.0]},
        base | {"sampler": "emcee", "replicate": 1, "biased": False, "param_mean": [0.1, 0.0]},
    ]
    runs = aggregate.runs_table(records, "t")
    assert runs["error_sd_max"].tolist() == pytest.approx([1.5, 0.05])
    assert runs["biased"].tolist() == [True, False]
    text = report.truth_recovered(runs)
    assert "| gaussian_iid | 2 | analytic | 1/2 ✗ |" in text


def test_the_summary_names_the_cells_tested_in_the_samplers_space_and_why():
    runs = _runs()
    assert "sampler's space" not in report.truth_recovered(runs)  # records before the column
    runs["bias_space"] = "model"
    runs["bias_space_reason"] = ""
    assert "sampler's space" not in report.truth_recovered(runs)
    assert "model's own variables" in report.truth_recovered(runs)
    runs.loc[runs["sampler"] == "emcee", "bias_space"] = "sampler"
    runs.loc[runs["sampler"] == "emcee", "bias_space_reason"] = "no draws of the truth"
    text = report.truth_recovered(runs)
    assert "Tested in the sampler's space" in text
    assert "- `radon` d = 89: no draws of the truth." in text


# --- heavy tails: a mean the quantiles judge instead (policy.MEAN_TEST_MAX_KURTOSIS) -----------


def test_the_funnels_heavy_tailed_means_are_left_to_their_quantiles():
    from essbench.targets import load_truth

    truth = load_truth("neals_funnel", 8, {})
    tested = truth.mean_tested()
    # v (the first parameter, normal) keeps its mean test; the x's (kurtosis in the
    # hundreds and thousands) are judged by their quantiles and the one-SD rule.
    assert tested.tolist() == [True] + [False] * 7
    assert truth.kurtosis[0] == pytest.approx(3.0, abs=0.1)
    assert truth.kurtosis[1:].min() > 4 * policy.MEAN_TEST_MAX_KURTOSIS
    for target, options in (("gaussian_iid", {}), ("banana", {"b": 0.03})):
        assert load_truth(target, 8, options).mean_tested().all(), target


def test_an_untested_mean_neither_fires_nor_counts_in_the_family():
    rng = np.random.default_rng(16)
    draws = rng.standard_normal((2, 1000, 3))
    draws[:, :, 2] += 0.5  # a shift the mean test would find (z ~ 22)
    truth = (np.zeros(3), np.ones(3))
    z = metrics.bias_z(draws, *truth, mean_tested=[True, True, False])
    assert z["n_mean_tests"] == 2 and z["z_mean_max"] < 4
    assert z["error_sd_max"] == pytest.approx(0.5, abs=0.1)  # the one-SD rule sees all
    assert metrics.bias_z(draws, *truth)["z_mean_max"] > 15
    # the Bonferroni family: 2 means + 9 quantile tests, not 3 + 9
    record = {**z, "z_quantile_max": 1.0, "n_quantile_tests": 9}
    verdict = policy.bias_verdict(record, 3)
    assert verdict["bias_z_threshold"] == pytest.approx(policy.bias_threshold(11))
    # every mean untested: the quantiles alone decide
    none = metrics.bias_z(draws, *truth, mean_tested=[False] * 3)
    assert math.isnan(none["z_mean_max"]) and none["n_mean_tests"] == 0
    verdict = policy.bias_verdict({**none, "z_quantile_max": 1.0, "n_quantile_tests": 9}, 3)
    assert verdict["biased"] is False and verdict["bias_z_threshold"] == pytest.approx(
        policy.bias_threshold(9)
    )


def test_a_shifted_funnel_is_still_caught_by_its_quantiles():
    """Exact funnel draws with every x shifted by a quarter of its posterior SD: the means
    are not z-tested, the fraction below the true median is far off."""
    from essbench import registry

    funnel = registry.target("neals_funnel")
    rng = np.random.RandomState(17)
    draws = np.asarray(funnel.module.sample_truth(8, 2000, rng), float).reshape(2, 1000, 8)
    assert not _diagnosed(draws, target="neals_funnel")["biased"]
    truth_sd = np.sqrt(funnel.truth(8).var)
    draws[:, :, 1:] += 0.25 * truth_sd[1:]
    record = _diagnosed(draws, target="neals_funnel")
    assert record["n_mean_tests"] == 1 and record["bias_test"] == "mean+quantiles"
    assert record["biased"] and record["z_quantile_max"] > 10, record["bias_reason"]


def test_a_verdict_names_the_worst_quantile_miss_in_the_models_terms():
    runs = _runs(emcee_error=0.23)
    emcee = runs["sampler"] == "emcee"
    runs["z_quantile_max"] = [12.0, 1.0, 9.0, 1.0, 12.5, 1.0]
    runs["z_quantile_variable"] = np.where(emcee, "tau", "")
    runs["z_quantile_fraction"] = [0.004, 0.5, 0.02, 0.5, 0.0, 0.5]
    runs["z_quantile_level"] = [0.1, 0.5, 0.1, 0.5, 0.1, 0.5]
    [sentence] = verdict.sentences(runs, "nutpie")
    assert (
        "(3 of 3 runs biased; a mean up to 0.23 posterior SD off; at worst 0.000 of its draws"
        " of `tau` below the truth's 10% quantile (0.1 expected))" in sentence
    )
    # records from before the column: the sentence as it was
    old = _runs(emcee_error=0.23)
    assert "quantile" not in verdict.sentences(old, "nutpie")[0]
