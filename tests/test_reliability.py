"""Failing runs, wall-time budgets, interruption and resume, determinism, parallel jobs."""

import hashlib
import json
import os
import signal
import subprocess
import time

import numpy as np
import pandas as pd
import pytest
import yaml
from conftest import REPO, SNAKEMAKE, snakemake

from essbench import config as ebconfig
from essbench import pipeline
from essbench.config import run_settings, validate

TINY = REPO / "config" / "test" / "tiny.yaml"
NON_TIMING = [
    "ess_bulk_mean",
    "ess_bulk_min",
    "ess_tail_min",
    "rhat_max",
    "grad_evals",
    "logp_evals",
    "z_mean_max",
    "z_var_max",
    "draws_sha256",
    "random_seed",
]


def _fault_settings(mode, **extra):
    cfg = validate(
        {
            "study": "t",
            "replicates": [0],
            "dims": [2],
            "targets": {"gaussian_iid": {}},
            "samplers": {"fault_injection": {"mode": mode, **extra}},
        }
    )
    return run_settings(cfg, "fault_injection", "gaussian_iid", 2, 0)


@pytest.mark.parametrize(
    ("mode", "budget", "reason"),
    [
        ("raise", None, "RuntimeError: fault_injection: failing on purpose"),
        ("nan", None, "FloatingPointError: draws contain non-finite values"),
        ("sleep", 1.0, "RunBudgetExceeded: run exceeded its wall-time budget of 1 s"),
    ],
)
def test_a_failing_run_is_recorded_not_raised(tmp_path, mode, budget, reason):
    start = time.monotonic()
    record, draws, _ = pipeline.sample(_fault_settings(mode), 1, "x.log", budget)
    assert time.monotonic() - start < 30
    assert record["status"] == "failed" and record["reason"] == reason
    assert pipeline.diagnose(record, draws)["status"] == "failed"
    # In a batch, the failure is the run's record; the batch itself succeeds.
    out = tmp_path / "run.json"
    runs = [{"settings": _fault_settings(mode), "record": out, "draws": None}]
    pipeline.run_batch(runs, tmp_path / "batch.json", 1, 1, "x.log", False, budget)
    assert json.loads(out.read_text())["status"] == "failed"


def test_a_run_over_its_budget_is_redone_when_the_budget_is_raised_other_failures_are_kept(
    tmp_path,
):
    def batch(mode, budget, **extra):
        out = tmp_path / f"{mode}.json"
        runs = [{"settings": _fault_settings(mode, **extra), "record": out, "draws": None}]
        pipeline.run_batch(runs, tmp_path / "batch.json", 1, 1, "x.log", False, budget)
        done = json.loads((tmp_path / "batch.json").read_text())["done_now"]
        return done, json.loads(out.read_text())

    done, record = batch("sleep", 0.5, seconds=1.0)
    assert done == 1 and record["status"] == "failed" and record["failed_budget_seconds"] == 0.5
    # The same budget (or a smaller one) keeps the failure: rerunning would fail again.
    assert batch("sleep", 0.5, seconds=1.0)[0] == 0
    assert batch("sleep", 0.3, seconds=1.0)[0] == 0
    # A larger budget redoes it, and now it succeeds.
    done, record = batch("sleep", 5.0, seconds=1.0)
    assert done == 1 and record["status"] == "ok" and "failed_budget_seconds" not in record
    # Any other failure is a result: no budget, however large, redoes it.
    assert batch("raise", None)[0] == 1
    assert batch("raise", None)[0] == 0


def test_a_working_run_passes():
    record, draws, _ = pipeline.sample(_fault_settings("ok"), 1, "x.log")
    assert record["status"] == "ok" and draws.shape == (2, 200, 2)


def test_a_batch_keeps_finished_runs_and_redoes_changed_ones(tmp_path):
    settings = [_fault_settings("ok") for _ in (0, 1)]
    for s, seed in zip(settings, (0, 1), strict=True):
        s["replicate"] = seed
        s["random_seed"] = 100 + seed
    runs = [
        {"settings": s, "record": tmp_path / f"r{s['replicate']}.json", "draws": None}
        for s in settings
    ]
    pipeline.run_batch(runs, tmp_path / "b.json", 1, 1, "x.log", False)
    first = {r["record"]: r["record"].read_text() for r in runs}
    manifest = json.loads((tmp_path / "b.json").read_text())
    assert manifest["done_now"] == 2 and [e["status"] for e in manifest["runs"]] == ["ok"] * 2
    # Again: nothing is redone, every record is left byte for byte.
    pipeline.run_batch(runs, tmp_path / "b.json", 1, 1, "x.log", False)
    assert json.loads((tmp_path / "b.json").read_text())["done_now"] == 0
    assert {r["record"]: r["record"].read_text() for r in runs} == first
    # A run whose settings changed is redone; the other is kept.
    runs[1]["settings"] = {**settings[1], "sampler_options": {**settings[1]["sampler_options"]}}
    runs[1]["settings"]["sampler_options"]["draws"] = 150
    pipeline.run_batch(runs, tmp_path / "b.json", 1, 1, "x.log", False)
    assert json.loads((tmp_path / "b.json").read_text())["done_now"] == 1
    assert runs[0]["record"].read_text() == first[runs[0]["record"]]
    assert json.loads(runs[1]["record"].read_text())["n_draws"] == 150


@pytest.mark.workflow
def test_study_survives_a_failing_sampler(tmp_path):
    snakemake("--cores", "2", "--configfile", str(REPO / "config/test/faults.yaml"), cwd=tmp_path)
    results = tmp_path / "results" / "faults"
    runs = pd.read_parquet(results / "tables/runs.parquet")
    failed = runs[runs["sampler"] == "fault_injection"]
    assert len(failed) == 2 and (failed["status"] == "failed").all()
    assert failed["reason"].str.contains("failing on purpose").all()
    assert all((tmp_path / p).exists() for p in failed["log"])
    assert (runs[runs["sampler"] == "emcee_vectorized"]["status"] == "ok").all()
    summary = (results / "summary.md").read_text()
    assert "## Failed runs" in summary and "failing on purpose" in summary
    assert (results / "figures/cost_vs_dim.png").exists()


def _records(results):
    """Every run record of a study: path -> (mtime, started_at, draws hash)."""
    out = {}
    for path in (results / "runs").rglob("r*.json"):
        record = json.loads(path.read_text())
        out[path] = (path.stat().st_mtime_ns, record["started_at"], record["draws_sha256"])
    return out


def _half_done_batch(results):
    """The record paths of a batch with a finished run but no manifest yet (killed now, it
    is half done), or None."""
    study = ebconfig.validate(yaml.safe_load(TINY.read_text()))
    for batch in ebconfig.batches(study):
        records = [results / "runs" / f"{run.key}.json" for run in batch.runs]
        manifest = results / "batches" / f"{batch.key}.json"
        if any(p.exists() for p in records) and not manifest.exists():
            return records
    return None


@pytest.fixture(scope="module")
def resumed(tmp_path_factory):
    """The tiny study, keeping its draws, SIGKILLed in the middle of a batch and resumed:
    (its directory, the records before the kill, the half-done batch, the runs table)."""
    tmp_path = tmp_path_factory.mktemp("resumed")
    env = dict(os.environ)
    env.pop("PYTENSOR_FLAGS", None)
    keep = ("--config", "keep_draws=True")
    proc = subprocess.Popen(
        [
            SNAKEMAKE,
            "--snakefile",
            str(REPO / "Snakefile"),
            "--configfile",
            str(TINY),
            *keep,
            "--cores",
            "2",
        ],
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
        env=env,
    )
    results = tmp_path / "results" / "tiny"
    deadline = time.monotonic() + 600
    half = None
    while time.monotonic() < deadline and proc.poll() is None:
        half = _half_done_batch(results) if (results / "runs").exists() else None
        if half is not None:
            break
        time.sleep(0.05)
    assert proc.poll() is None, "the study finished before it could be killed"
    os.killpg(proc.pid, signal.SIGKILL)  # snakemake and every job: as if the node died
    proc.wait()
    before = _records(results)
    snakemake("--unlock", "--configfile", str(TINY), *keep, cwd=tmp_path)
    snakemake("--cores", "2", "--configfile", str(TINY), *keep, cwd=tmp_path)
    runs = pd.read_parquet(results / "tables/runs.parquet")
    return tmp_path, before, half, runs


@pytest.mark.workflow
def test_sigkill_mid_batch_then_resume(resumed, tiny_run):
    tmp_path, before, half, runs = resumed
    results = tmp_path / "results" / "tiny"
    in_half = [p for p in before if p in half]
    assert in_half, "no finished run in the half-done batch"
    after = _records(results)
    # Finished runs were not recomputed, those of the half-done batch included: same file,
    # same start time, same draws.
    for path, stamp in before.items():
        assert after[path] == stamp, f"{path} was recomputed"
    assert all(p.exists() for p in half)
    assert len(runs) == len(tiny_run) and (runs["status"] == "ok").all()
    assert not list(results.rglob("*.part")), "a partial file was left behind"
    # And the resumed study equals an uninterrupted one (determinism across processes).
    _assert_same_results(runs, tiny_run)


def _assert_same_results(a, b):
    key = ["sampler", "target", "dim", "replicate"]
    a = a.set_index(key).sort_index()
    b = b.set_index(key).sort_index()
    pd.testing.assert_frame_equal(a[NON_TIMING], b[NON_TIMING], check_exact=True)


def test_different_seeds_give_different_draws(tiny_run):
    for _, group in tiny_run.groupby(["sampler", "target", "dim"]):
        assert group["draws_sha256"].nunique() == len(group)
        assert group["random_seed"].nunique() == len(group)


@pytest.mark.workflow
def test_keep_draws_stores_datatrees_arviz_opens(resumed):
    """Every run keeps its DataTree, those finished before the kill included."""
    import arviz as az

    tmp_path, _, _, runs = resumed
    assert (runs["draws_bytes"] > 0).all()
    for r in runs.itertuples():
        path = tmp_path / f"results/tiny/draws/{r.target}/d{r.dim}/{r.sampler}/r{r.replicate}.nc"
        assert r.draws_path == str(path.relative_to(tmp_path))
        assert path.stat().st_size == r.draws_bytes
        tree = az.from_netcdf(path)
        assert list(tree["posterior"].data_vars) == ["x"]
        x = np.asarray(tree["posterior"]["x"])
        assert x.shape == (r.n_chains, r.n_draws, r.dim)
        assert hashlib.sha256(np.ascontiguousarray(x).tobytes()).hexdigest() == r.draws_sha256
        if r.sampler == "pymc_nuts":
            stats = tree["sample_stats"]
            assert {"diverging", "n_steps"} <= set(stats.data_vars)
            assert int(np.asarray(stats["diverging"]).sum()) == r.stat_divergences
    # A full --cores 2 run of the tiny study beside tiny_run's (two PyMC jobs side by side
    # at times): none of them hit a compile-lock timeout or a corrupted cache.
    assert (runs["status"] == "ok").all()


def test_a_killed_writes_temporary_file_is_removed_before_its_output_is_written_again(tmp_path):
    """SIGKILL inside io.atomic_path leaves `.<name>.*.part` (no except runs); the batch
    that writes that output again removes it first (run_batch), and nothing else."""
    from essbench import io

    out = tmp_path / "draws" / "r0.nc"
    out.parent.mkdir()
    left = out.parent / ".r0.nc.abc123.part"
    left.write_text("half")
    other = out.parent / ".r1.nc.def456.part"  # another run's: not this output's to remove
    other.write_text("half")
    assert io.remove_partials(out) == [left]
    assert not left.exists() and other.exists()
    assert io.remove_partials(tmp_path / "nowhere" / "r0.nc") == []
