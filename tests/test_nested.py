"""Nested samplers (dynesty, nautilus): their priors, their weighted draws through the
diagnostics, their log Z, and whether Kish's ESS is honest for them."""

import math

import numpy as np
import pytest
import yaml
from conftest import REPO
from scipy import integrate, stats

from essbench import aggregate, ess_goal, metrics, nested, pipeline, policy, registry
from essbench.problem import build_problem
from essbench.samplers import SamplerRun, merged_options

NESTED = ("dynesty", "nautilus")
# Box-prior targets at the dimensions checked (the box grows with dim only coordinate-wise).
BOXES = {
    "gaussian_iid": 16,
    "gaussian_illcond": 16,
    "gaussian_logspaced": 16,
    "banana": 8,
    "neals_funnel": 8,
}
MAX_MASS_OUTSIDE = 1e-6


def _outside_mass(target: str, dim: int, low, high) -> float:
    """The target's probability mass outside the box (a union bound over coordinates, each
    coordinate's exact tail mass, integrated where its marginal is not normal)."""
    norm = stats.norm
    if target in ("gaussian_iid", "gaussian_illcond", "gaussian_logspaced"):
        sd = np.sqrt(registry.target(target).truth(dim).var)
        return float(np.sum(norm.cdf(low / sd) + norm.sf(high / sd)))
    if target == "banana":
        b = registry.target("banana").DEFAULT_B
        x1 = norm.cdf(low[0] / 10) + norm.sf(high[0] / 10)

        def x2_out(x):  # x2 | x1 ~ N(b (100 - x1^2), 1)
            m = b * (100 - x * x)
            return norm.pdf(x, 0, 10) * (norm.cdf(low[1] - m) + norm.sf(high[1] - m))

        x2 = integrate.quad(x2_out, -200, 200, limit=200)[0]
        rest = np.sum(norm.cdf(low[2:]) + norm.sf(high[2:]))
        return float(x1 + x2 + rest)
    assert target == "neals_funnel"
    v = norm.cdf(low[0] / 3) + norm.sf(high[0] / 3)
    half = high[1]

    def x_out(w):  # x | v ~ N(0, exp(v / 2)^2)
        return norm.pdf(w, 0, 3) * 2 * norm.sf(half * np.exp(-w / 2))

    per_x = integrate.quad(x_out, -40, 40, points=[2 * np.log(half)], limit=200)[0]
    return float(v + (dim - 1) * per_x)


def _funnel_variance_lost(half: float) -> float:
    """The fraction of Var(x) = exp(9 / 2) of Neal's funnel beyond |x| = half."""
    norm = stats.norm

    def lost(w):  # E[x^2; |x| > half | v = w] = s^2 2 (c phi(c) + Phi(-c)), c = half / s
        c = half * np.exp(-w / 2)
        return norm.pdf(w, 0, 3) * np.exp(w) * 2 * (c * norm.pdf(c) + norm.sf(c))

    return integrate.quad(lost, -40, 40, points=[2 * np.log(half)], limit=200)[0] / np.exp(4.5)


@pytest.mark.parametrize("target", sorted(BOXES))
def test_box_priors_hold_all_but_a_negligible_mass(target):
    dim = BOXES[target]
    plugin = registry.target(target)
    low, high = nested.box(plugin, dim, {})
    mass = _outside_mass(target, dim, low, high)
    assert mass < MAX_MASS_OUTSIDE, mass
    # Exact draws: every one of 200,000 inside the box.
    x = plugin.sample_truth(dim, 200_000, np.random.RandomState(5))
    assert np.all((x > low) & (x < high))
    if target == "neals_funnel":  # the heavy-tailed x: its variance is nearly all kept
        lost = _funnel_variance_lost(high[1])
        print(f"neals_funnel box +-{high[1]:g}: mass outside {mass:.1e}, variance lost {lost:.2%}")
        assert lost < 0.005
    assert plugin.LOG_NORMALISER == 0.0


MODEL_PRIORS = sorted(n for n, p in registry.targets().items() if p.PRIOR == "model")


def test_every_target_with_a_prior_of_its_own_declares_it():
    """Every shipped target with data either runs its own prior or says why it cannot."""
    assert {"eight_schools", "radial_velocity", "transit", "arK", "accel_gp"} <= set(MODEL_PRIORS)
    for name, plugin in registry.targets().items():
        if plugin.PRIOR is None:
            assert plugin.PRIOR_MISSING, f"{name}: no PRIOR and no PRIOR_MISSING"
            assert nested.unsupported(plugin) == f"no prior: {plugin.PRIOR_MISSING}"


@pytest.mark.parametrize("target", MODEL_PRIORS)
def test_model_priors_transform_the_cube_into_the_models_priors(target):
    """The transform u -> value pushes the uniform cube onto the model's prior exactly when
    log |det J(u)| = -log prior(value(u)) everywhere (the prior density in the value
    space, Jacobians included); and the likelihood is the model's log density less it."""
    dim = registry.target(target).MIN_DIM
    problem = build_problem(target, dim)
    built = nested.build(problem)
    assert built.kind == "model" and built.log_z_true is None
    full = problem.compile_logp()
    model = problem.model
    prior = model.compile_logp(vars=model.free_RVs, jacobian=True)
    rng = np.random.default_rng(1)
    for _ in range(3):
        u = rng.uniform(0.02, 0.98, dim)
        x = built.transform_one(u)
        step = 1e-6
        jac = np.empty((dim, dim))
        for j in range(dim):
            e = np.zeros(dim)
            e[j] = step
            jac[:, j] = (built.transform_one(u + e) - built.transform_one(u - e)) / (2 * step)
        log_prior = prior(problem.point(x))
        assert abs(np.linalg.slogdet(jac)[1] + log_prior) < 1e-5
        # Far in a prior's tail the likelihood can be -1e100: compare relative to it.
        assert log_prior + built.loglike(x) == pytest.approx(full(x), rel=1e-9, abs=1e-6)
    if target == "eight_schools":  # the batched likelihood is the single one's
        xs = built.transform(rng.uniform(size=(4, dim)))
        np.testing.assert_allclose(built.loglike_batched(xs), [built.loglike(r) for r in xs])


@pytest.fixture(scope="module")
def gaussian():
    return build_problem("gaussian_iid", 3)


def _diagnosed(run):
    """A nested run on the ``gaussian`` fixture's target, through the diagnose path."""
    record = {
        "status": "ok",
        "target": "gaussian_iid",
        "dim": 3,
        "sampling_seconds": run.sampling_seconds,
        "logp_evals": run.logp_evals,
        **pipeline.namespaced("option", run.settings),
        **pipeline.namespaced("stat", run.stats),
    }
    return pipeline.diagnose(record, run.draws, weights=run.weights)


@pytest.mark.parametrize("name", NESTED)
def test_nested_sampler_recovers_a_gaussian_and_its_evidence(gaussian, name):
    plugin = registry.sampler(name)
    run = plugin.run(gaussian, merged_options(plugin, plugin.QUICK_OPTIONS), seed=3)
    assert run.weights.shape == run.draws.shape[:2] and run.draws.shape[0] == 1
    assert run.logp_evals > 0 and run.grad_evals == 0
    out = _diagnosed(run)
    assert out["status"] == "ok" and out["ess_basis"] == "kish"
    assert out["ess_kish"] == pytest.approx(metrics.kish_ess(run.weights))
    assert out["cost_per_ess_mean"] == pytest.approx(run.sampling_seconds / out["ess_kish"])
    assert out["ess_per_logp"] == pytest.approx(out["ess_kish"] / run.logp_evals)
    assert not out["biased"] and out["bias_test"] == "mean+quantiles"
    # The evidence: the box's -log vol (the density is normalised), within 4 errors.
    assert out["stat_logz_true"] == pytest.approx(-3 * math.log(16.0))
    assert abs(out["stat_logz_z"]) < 4, (out["stat_logz"], out["stat_logz_err"])
    assert out["stat_converged"] is True and out["flag_call_cap"] is False
    # No chains: R-hat and chain/tau are not assessable (None), and the record says why.
    assert out["flag_rhat"] is None and out["flag_chain_tau"] is None
    assert out["flags_not_assessable"] == policy.WEIGHTED_NOT_ASSESSABLE
    assert math.isnan(out["rhat_max"]) and not out["unreliable"]
    print(
        f"{name}: Kish ESS {out['ess_kish']:.0f}, log Z {out['stat_logz']:.3f}"
        f" ± {out['stat_logz_err']:.3f} (true {out['stat_logz_true']:.3f})"
    )


# Measured here (dynesty 3.1.0, nlive 100, gaussian_iid d = 2, seeds 0-11: 24 terms): Kish
# ESS / empirical ESS 0.85 [0.52, 1.65], log Z errors / dynesty's error estimate: sd 0.83.
# benchmarks/nested_calibration.py runs both samplers with more seeds (20 seeds, their
# QUICK_OPTIONS: dynesty 1.02 [0.69, 1.67], nautilus 0.62 [0.42, 1.02]).
CALIBRATION_SEEDS = range(12)


def test_kish_ess_is_honest_for_dynesty_across_seeds():
    plugin = registry.sampler("dynesty")
    problem = build_problem("gaussian_iid", 2)
    records = []
    for seed in CALIBRATION_SEEDS:
        run = plugin.run(problem, merged_options(plugin, {"nlive": 100}), seed)
        record = {
            "status": "ok",
            "sampler": "dynesty",
            "target": "gaussian_iid",
            "dim": 2,
            "sampling_seconds": run.sampling_seconds,
            **pipeline.namespaced("stat", run.stats),
        }
        records.append(pipeline.diagnose(record, run.draws, weights=run.weights))
    cal = aggregate.calibration_table(records).iloc[0]
    z = np.array([r["stat_logz_z"] for r in records])
    print(
        f"dynesty Kish ESS / empirical ESS: {cal.ratio:.2f} [{cal.ratio_lo:.2f},"
        f" {cal.ratio_hi:.2f}]; log Z error / estimate: sd {z.std(ddof=1):.2f}"
    )
    assert cal.ess_basis == "kish" and cal.n_terms == 2 * len(CALIBRATION_SEEDS)
    assert 0.5 < cal.ratio < 2.0 and cal.ratio_lo < 1 < cal.ratio_hi
    assert 0.4 < z.std(ddof=1) < 2.0 and abs(z.mean()) < 1.5


def test_weighted_runs_stopped_by_their_cap_are_flagged():
    rng = np.random.default_rng(0)
    draws = rng.standard_normal((1, 4000, 2))
    weights = np.full((1, 4000), 1 / 4000)
    record = {
        "status": "ok",
        "target": "gaussian_iid",
        "dim": 2,
        "sampling_seconds": 2.0,
        "logp_evals": 500,
        "stat_converged": False,
    }
    out = pipeline.diagnose(record, draws, weights=weights)
    assert out["ess_kish"] == pytest.approx(4000)
    assert out["cost_per_ess_mean"] == pytest.approx(2.0 / 4000)
    assert out["flag_call_cap"] is True and out["unreliable"]
    assert "cap of 500 likelihood calls" in out["unreliable_reason"]
    assert not out["biased"]
    # Chain runs are unchanged: no call cap to assess, bulk ESS the basis.
    plain = pipeline.diagnose({**record, "stat_converged": None}, draws)
    assert plain["ess_basis"] == "bulk" and plain["flag_call_cap"] is None
    assert plain["flags_not_assessable"] == ""


def test_weighted_bias_test_catches_a_wrong_weighting():
    """Draws of N(0, 2^2) weighted to N(0, 1) pass; the same draws unweighted-equivalent
    (uniform weights) fail the quantile test against N(0, 1)."""
    rng = np.random.default_rng(2)
    x = 2.0 * rng.standard_normal((1, 20_000, 2))
    log_w = stats.norm.logpdf(x).sum(axis=2) - stats.norm.logpdf(x, 0, 2).sum(axis=2)
    w = np.exp(log_w - log_w.max())
    truth = registry.target("gaussian_iid")
    record = {"status": "ok", "target": "gaussian_iid", "dim": 2, "sampling_seconds": 1.0}
    good = pipeline.diagnose(record, x, weights=w / w.sum())
    bad = pipeline.diagnose(record, x, weights=np.full(w.shape, 1 / w.size))
    assert not good["biased"] and bad["biased"] and bad["z_quantile_max"] > 20
    assert truth.LOG_NORMALISER == 0.0


def test_ess_goal_holds_weighted_runs_to_kish():
    w = np.array([[0.5, 0.25, 0.25]])
    run = SamplerRun(np.zeros((1, 3, 2)), 0.0, 0.0, 1.0, 0, 3, weights=w)
    for reliable in (False, True):
        ess, factor, why, basis = ess_goal.Goal(400, reliable).shortfall(run)
        assert (ess, basis) == (pytest.approx(1 / 0.375), "kish")
        assert factor == pytest.approx(400 * 0.375) and why.startswith("Kish ESS 3 < 400")


def _config(**targets):
    base = yaml.safe_load((REPO / "config" / "config.yaml").read_text())
    base["targets"] = targets
    base["samplers"] = {"dynesty": {}, "nautilus": {}}
    return base


def test_a_target_without_a_prior_is_skipped_and_alone_refused(tmp_path):
    """The nested samplers skip a target without a prior (as stan_nuts skips one without a
    Stan program); a study left with nothing to run is refused in one line saying why."""
    from essbench import config as ebconfig

    model = tmp_path / "mine.py"
    model.write_text(
        (REPO / "tests" / "plugins" / "scaled_gaussian.py").read_text()
        + "\nassert 'PRIOR' not in globals()\n"
    )
    full = ebconfig.validate(_config(mine={"file": str(model)}, gaussian_iid={"dims": [2]}))
    assert {(r.sampler, r.target) for r in ebconfig.runs(full)} == {
        (name, "gaussian_iid") for name in NESTED
    }
    with pytest.raises(ebconfig.ConfigError) as info:
        ebconfig.validate(_config(mine={"file": str(model)}))
    [line] = str(info.value).splitlines()
    assert line.startswith("config: no sampler of the study can run on any of its targets (")
    for name in NESTED:
        assert f"{name} on mine: {nested.NO_PRIOR}" in line
    assert "PRIOR = 'model'" in nested.NO_PRIOR and "prior_box(dim" in nested.NO_PRIOR


def test_config_refuses_nautilus_below_two_dimensions():
    from essbench import config as ebconfig

    with pytest.raises(ebconfig.ConfigError) as info:
        ebconfig.validate(_config(gaussian_iid={"dims": [1, 4]}))
    assert str(info.value).splitlines() == [
        "config: samplers.nautilus: runs at dim 2 or more, not [1] (target gaussian_iid);"
        " give gaussian_iid its own dims: targets: {gaussian_iid: {dims: [...]}}"
    ]


def test_nautilus_stopped_by_its_timeout_is_flagged_and_says_so(gaussian):
    plugin = registry.sampler("nautilus")
    options = merged_options(plugin, {**plugin.QUICK_OPTIONS, "timeout_seconds": 0.5})
    run = plugin.run(gaussian, options, seed=3)
    assert run.stats["stopped_by"] == "timeout" and run.settings["timeout_seconds"] == 0.5
    assert run.stats["converged"] is False
    out = _diagnosed(run)
    assert out["flag_call_cap"] is True and out["unreliable"]
    assert "stopped at its timeout of 0.5 s" in out["unreliable_reason"]
