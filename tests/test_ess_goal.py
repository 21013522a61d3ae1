"""ESS-goal runs: the continue and restart strategies, censoring, real chunks."""

import json

import numpy as np
import pytest

from essbench import registry
from essbench.ess_goal import run_to_goal
from essbench.problem import build_problem
from essbench.samplers import SamplerRun, merged_options


class _IID:
    """A stand-in sampler whose draws are iid normal: ESS is about chains x draws."""

    NAME = "iid"
    ENSEMBLE = False
    LENGTH_OPTION = "draws"
    SECONDS_PER_DRAW = 1e-3

    def __init__(self):
        self.lengths = []

    def _run(self, n, seed):
        rng = np.random.default_rng(seed + len(self.lengths))
        self.lengths.append(n)
        return SamplerRun(
            draws=rng.standard_normal((2, n, 3)),
            compile_seconds=0.1,
            warmup_seconds=0.5,
            draw_seconds=n * self.SECONDS_PER_DRAW,
            grad_evals=10 * n,
            logp_evals=0,
            settings={"draws": n},
        )

    def run(self, problem, options, seed):
        return self._run(int(options["draws"]), seed)


class _ChunkedIID(_IID):
    def chunks(self, problem, options, seed):
        more = yield self._run(int(options["draws"]), seed)
        while True:
            chunk = self._run(more, seed)
            more = yield SamplerRun(
                draws=chunk.draws,
                compile_seconds=0.0,
                warmup_seconds=0.0,
                draw_seconds=chunk.draw_seconds,
                grad_evals=chunk.grad_evals,
                logp_evals=0,
            )


def test_restart_runs_again_with_more_draws_until_the_target_and_adds_up_the_time():
    module = _IID()
    run, info = run_to_goal(module, None, {"draws": 50}, 1, goal=800, budget_seconds=60)
    assert module.lengths[0] == 50 and len(module.lengths) == info["ess_goal_steps"] >= 2
    assert all(b >= 2 * a for a, b in zip(module.lengths, module.lengths[1:], strict=False))
    assert run.draws.shape[1] == module.lengths[-1] == run.settings["draws"]
    assert info["ess_goal_reached"] and not info["censored"]
    assert info["ess_bulk_min_at_stop"] >= 800
    # Every attempt's sampling time counts towards the time to the goal; the run's own is the last.
    spent = sum(0.5 + n * module.SECONDS_PER_DRAW for n in module.lengths)
    assert info["time_to_goal_seconds"] == pytest.approx(spent)
    assert run.sampling_seconds == pytest.approx(0.5 + module.lengths[-1] * 1e-3)


def test_continue_extends_the_same_run_in_chunks():
    module = _ChunkedIID()
    run, info = run_to_goal(module, None, {"draws": 50}, 1, goal=800, budget_seconds=60)
    assert info["ess_goal_strategy"] == "continue" and info["ess_goal_reached"]
    assert run.draws.shape[1] == sum(module.lengths) == run.settings["draws"]
    assert run.grad_evals == 10 * sum(module.lengths)
    assert run.warmup_seconds == pytest.approx(0.5)  # warm-up paid once
    assert info["time_to_goal_seconds"] == pytest.approx(run.sampling_seconds)


@pytest.mark.parametrize("module", [_IID, _ChunkedIID])
def test_a_run_out_of_budget_is_censored_with_its_draws_kept(module):
    module = module()
    module.SECONDS_PER_DRAW = 0.01  # 50 draws: 1 s; the target needs ~10x more
    run, info = run_to_goal(module, None, {"draws": 50}, 1, goal=1000, budget_seconds=3)
    assert info["censored"] and not info["ess_goal_reached"]
    assert "; budget:" in info["censored_reason"]
    assert info["time_to_goal_seconds"] <= 3
    assert run.draws.shape[1] >= 50 and info["ess_bulk_min_at_stop"] < 1000


@pytest.mark.parametrize("module", [_IID, _ChunkedIID])
def test_the_length_cap_censors_a_run_that_would_grow_past_it(module):
    run, info = run_to_goal(
        module(), None, {"draws": 50}, 1, goal=5000, budget_seconds=600, max_growth=4
    )
    assert info["censored"] and "; length cap:" in info["censored_reason"]
    assert run.draws.shape[1] <= 200
    assert "draws per chain is max_growth x 50" in info["censored_reason"]


@pytest.mark.parametrize("module", [_IID, _ChunkedIID])
def test_a_censored_reason_counts_in_the_samplers_own_unit(module):
    """A nested sampler grows live points, not draws: its reason says so (LENGTH_UNIT)."""
    module = module()
    module.LENGTH_UNIT = "live points"
    module.SECONDS_PER_DRAW = 0.01
    _, info = run_to_goal(module, None, {"draws": 50}, 1, goal=1000, budget_seconds=3)
    assert " live points would take about " in info["censored_reason"]
    assert "per chain" not in info["censored_reason"]
    units = {name: registry.sampler(name).LENGTH_UNIT for name in ("dynesty", "emcee", "pymc_nuts")}
    assert units == {
        "dynesty": "live points",
        "emcee": "steps per walker",
        "pymc_nuts": "draws per chain",
    }


class _AR1(_IID):
    """Chains of an AR(1) process (phi = 0.9, tau = 19): a few draws already give a small
    bulk ESS, but R-hat needs chains hundreds of draws long to pass."""

    def _run(self, n, seed):
        rng = np.random.default_rng(seed + len(self.lengths))
        self.lengths.append(n)
        x = np.empty((2, n, 3))
        x[:, 0] = rng.standard_normal((2, 3))
        for t in range(1, n):
            x[:, t] = 0.9 * x[:, t - 1] + np.sqrt(1 - 0.81) * rng.standard_normal((2, 3))
        return SamplerRun(x, 0.0, 0.0, n * self.SECONDS_PER_DRAW, 0, 0, {"draws": n})


def test_a_reliable_goal_grows_the_run_until_rhat_passes_too():
    from essbench import metrics, policy

    plain, plain_info = run_to_goal(_AR1(), None, {"draws": 60}, 1, goal=5, budget_seconds=60)
    run, info = run_to_goal(
        _AR1(), None, {"draws": 60}, 1, goal=5, budget_seconds=60, max_growth=200, reliable=True
    )
    assert plain_info["ess_goal_reached"] and not plain_info["ess_goal_reliable"]
    assert info["ess_goal_reached"] and info["ess_goal_reliable"]
    chains, n, k = run.draws.shape
    rhat = float(np.max(metrics.per_parameter(run.draws)["rhat"]))
    assert n > 4 * plain.draws.shape[1] and rhat <= policy.rhat_threshold(chains, n, k)
    plain_rhat = float(np.max(metrics.per_parameter(plain.draws)["rhat"]))
    assert plain_rhat > policy.rhat_threshold(chains, plain.draws.shape[1], k)


def test_a_reliable_goal_that_runs_out_of_budget_says_which_rule_failed():
    run, info = run_to_goal(
        _AR1(), None, {"draws": 60}, 1, goal=5, budget_seconds=0.2, max_growth=200, reliable=True
    )
    assert info["censored"] and info["censored_reason"].startswith("R-hat ")


@pytest.mark.parametrize("name", ["emcee", "emcee_vectorized"])
def test_emcee_chunks_continue_the_same_chains(name):
    """Chunks of a chunked run are exactly the steps one longer run would have taken."""
    module = registry.sampler(name)
    problem = build_problem("gaussian_iid", 3)
    options = merged_options(module, {"burn": 50, "steps": 60})
    chunks = module.chunks(problem, options, seed=5)
    first = next(chunks)
    second = chunks.send(40)
    chunks.close()
    whole = module.run(problem, {**options, "steps": 100}, seed=5)
    np.testing.assert_array_equal(np.concatenate([first.draws, second.draws], axis=1), whole.draws)
    assert first.logp_evals + second.logp_evals == whole.logp_evals
    assert second.draw_seconds > 0 and second.warmup_seconds == 0


def test_zeus_chunks_extend_the_chains_and_count_their_calls():
    """zeus draws its random numbers per call, so a chunked chain is not bit-identical to one
    long run; each chunk must still add its steps and its own log-density calls."""
    module = registry.sampler("zeus")
    problem = build_problem("gaussian_iid", 3)
    options = merged_options(module, {"burn": 50, "steps": 60})
    chunks = module.chunks(problem, options, seed=5)
    first = next(chunks)
    second = chunks.send(40)
    third = chunks.send(30)
    chunks.close()
    assert first.draws.shape[1:] == (60, 3) and second.draws.shape[1] == 40
    assert third.draws.shape[1] == 30 and not np.array_equal(second.draws[:, -30:], third.draws)
    # Every walker evaluates the density at least twice per slice step (bracket and shrink).
    assert 2 * second.draws.shape[0] * 40 <= second.logp_evals < first.logp_evals


def test_pymc_sampler_restarts_to_the_target():
    module = registry.sampler("pymc_metropolis")
    problem = build_problem("gaussian_iid", 2)
    options = merged_options(module, {"tune": 200, "draws": 100, "chains": 2, "cores": 1})
    run, info = run_to_goal(module, problem, options, 3, goal=300, budget_seconds=120)
    assert info["ess_goal_strategy"] == "restart" and info["ess_goal_reached"]
    assert run.draws.shape[1] == run.settings["draws"] > 100


def _snapshot(folder):
    """Every file under ``folder``: relative path -> (sha256, mtime)."""
    import hashlib

    return {
        str(p.relative_to(folder)): (
            hashlib.sha256(p.read_bytes()).hexdigest(),
            p.stat().st_mtime_ns,
        )
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


@pytest.mark.workflow
def test_ess_goal_study_records_reached_and_censored_runs(tiny_run):
    """config/test/ess_goal.yaml: NUTS restarts to the target; emcee's length cap censors it,
    and the tables, the summary and the HTML report say so.

    It runs in the tiny study's directory, after it, as a user runs a second study beside the
    first: the two share (sampler, target, dim, seed) cells with other options, and the
    first study's files stay byte for byte as they were."""
    import pandas as pd
    from conftest import REPO, snakemake

    tmp_path = tiny_run.attrs["workdir"]
    tiny = REPO / "config" / "test" / "tiny.yaml"
    before = _snapshot(tmp_path / "results" / "tiny")
    shared_d2 = _snapshot(tmp_path / "results" / "shared" / "compile" / "gaussian_iid" / "d2")
    config = REPO / "config" / "test" / "ess_goal.yaml"
    snakemake("--cores", "2", "--configfile", str(config), cwd=tmp_path)
    assert _snapshot(tmp_path / "results" / "tiny") == before
    # The model both studies use was compiled once, for the first.
    assert (
        _snapshot(tmp_path / "results" / "shared" / "compile" / "gaussian_iid" / "d2") == shared_d2
    )
    # Both studies are complete: neither has anything left to do.
    for study in (tiny, config):
        proc = snakemake("-n", "--configfile", str(study), cwd=tmp_path)
        assert "Nothing to be done" in proc.stdout + proc.stderr, study.name
    runs = pd.read_parquet(tmp_path / "results" / "ess_goal_test" / "tables" / "runs.parquet")
    assert (runs["status"] == "ok").all(), runs[["sampler", "reason"]]
    nuts, emcee = runs[runs["sampler"] == "pymc_nuts"], runs[runs["sampler"] == "emcee"]
    assert (nuts["ess_goal_strategy"] == "restart").all()
    assert not nuts["censored"].any() and (nuts["ess_bulk_min"] >= 300).all()
    assert (nuts["time_to_goal_seconds"] >= nuts["sampling_seconds"]).all()
    assert (emcee["ess_goal_strategy"] == "continue").all() and emcee["censored"].all()
    assert emcee["censored_reason"].str.contains("; length cap").all()
    assert (emcee["n_draws"] == 400).all() and (emcee["ess_bulk_min"] < 300).all()
    summary = pd.read_csv(tmp_path / "results" / "ess_goal_test" / "tables" / "summary.csv")
    assert (summary.loc[summary["sampler"] == "emcee", "n_censored"] == 1).all()
    text = (tmp_path / "results" / "ess_goal_test" / "summary.md").read_text()
    section = text[text.index("## Censored runs") : text.index("## Failed runs")]
    assert section.count("| emcee | gaussian_iid |") == 2 and "pymc_nuts" not in section
    assert "Censored runs" in (tmp_path / "results" / "ess_goal_test" / "report.html").read_text()
    # Each censored cell has a figure of the parameter the goal waited for (smallest bulk ESS).
    folder = tmp_path / "results" / "ess_goal_test" / "figures" / "flagged"
    cells = json.loads((folder / "index.json").read_text())["cells"]
    censored = [c for c in cells if c["sampler"] == "emcee"]
    assert sorted(c["dim"] for c in censored) == [2, 3]
    for cell in censored:
        assert (folder / cell["figure"]).stat().st_size > 10_000
        assert "censored (ESS goal not reached)" in cell["caption"]
        assert "the smallest bulk ESS, which the ESS goal waits for (bulk ESS" in cell["caption"]


@pytest.mark.parametrize("module", [_IID(), _ChunkedIID()], ids=["restart", "continue"])
def test_each_call_of_the_sampler_is_a_timed_section_and_the_checks_are_not(module, monkeypatch):
    """exclusive_sampling holds the machine's lock for the sampler's calls only: the ESS
    checks between them (untimed) leave it free for another run."""
    import contextlib

    from essbench import ess_goal

    state = {"inside": False, "sections": 0, "checks": 0}

    @contextlib.contextmanager
    def timed():
        state["inside"] = True
        state["sections"] += 1
        yield
        state["inside"] = False

    shortfall = ess_goal.Goal.shortfall

    def checked(self, *args, **kwargs):
        assert not state["inside"], "an ESS check ran inside a timed section"
        state["checks"] += 1
        return shortfall(self, *args, **kwargs)

    monkeypatch.setattr(ess_goal.Goal, "shortfall", checked)
    _, info = run_to_goal(module, None, {"draws": 50}, 1, goal=800, budget_seconds=60, timed=timed)
    assert state["sections"] == len(module.lengths) == info["ess_goal_steps"] >= 2
    assert state["checks"] >= state["sections"]
