"""Studies in their own folders, runs batched per process, files readable by the group."""

import json
import os
import subprocess

import pytest
import yaml
from conftest import REPO, snakemake

from essbench import config as ebconfig
from essbench import io

TINY = REPO / "config" / "test" / "tiny.yaml"


@pytest.mark.parametrize(("umask", "mode"), [(0o022, 0o644), (0o027, 0o640), (0o077, 0o600)])
def test_atomic_writes_follow_the_umask(tmp_path, umask, mode):
    old = os.umask(umask)
    try:
        io.write_json(tmp_path / "a.json", {"x": 1})
        io.write_text(tmp_path / "b.txt", "x")
    finally:
        os.umask(old)
    for name in ("a.json", "b.txt"):
        assert (tmp_path / name).stat().st_mode & 0o777 == mode
    assert not list(tmp_path.glob(".*.part"))


def _study(**changes):
    raw = yaml.safe_load(TINY.read_text())
    raw.update(changes)
    return ebconfig.validate(raw)


def test_batches_cut_each_samplers_runs_replicate_by_replicate_and_cover_every_run():
    study = _study(replicates=[0, 1, 2, 3, 4], runs_per_job=3)
    batches = ebconfig.batches(study)
    runs = [r for b in batches for r in b.runs]
    assert len(runs) == len(set(runs)) and set(runs) == set(ebconfig.runs(study))
    models = [(t, d) for t in study["targets"] for d in study["dims"]]
    for sampler in study["samplers"]:
        mine = [b for b in batches if b.sampler == sampler]
        # One sampler per batch, up to runs_per_job runs, replicate first across models.
        assert all(len(b.runs) <= 3 and {r.sampler for r in b.runs} == {sampler} for b in mine)
        order = [(r.replicate, r.target, r.dim) for b in mine for r in b.runs]
        assert order == [(i, t, d) for i in study["replicates"] for t, d in models]
        assert [b.label for b in mine] == ["n0-2", "n3-5", "n6-8", "n9"]
        assert mine[0].models == models and mine[-1].models == models[1:]
    # Adding a replicate past the last one leaves every full batch as it was.
    grown = {
        b.key: b.runs
        for b in ebconfig.batches(_study(replicates=[0, 1, 2, 3, 4, 5], runs_per_job=3))
    }
    for b in batches:
        if len(b.runs) == 3:
            assert grown[b.key] == b.runs


def test_a_batch_never_spans_two_conda_envs():
    """A JAX log_prob file runs in the jax env: nutpie's runs on it get batches of their own
    (labelled with the env), apart from its runs on PyMC models."""
    gauss50 = REPO / "benchmarks" / "configs" / "gauss50_logprob.py"
    study = _study(
        replicates=[0, 1],
        dims=[2],
        targets={
            "gaussian_iid": {},
            "gauss50_logprob": {"file": str(gauss50), "dims": [50]},
        },
        samplers={"nutpie": {}},
    )
    batches = ebconfig.batches(study)
    assert {b.env for b in batches} == {"sampling", "jax"}
    for b in batches:
        assert {ebconfig.run_env(r.sampler, r.target) for r in b.runs} == {b.env}
    assert {b.label for b in batches} == {"n0-1", "jax-n0-1"}


def test_shared_outputs_are_keyed_by_target_options_not_by_study():
    a = ebconfig.options_key({"b": 0.03})
    assert a == ebconfig.options_key({"b": 0.03}) != ebconfig.options_key({"b": 0.05})
    assert ebconfig.options_key({}) != a


@pytest.mark.parametrize(("value", "message"), [(0, "minimum of 1"), ("x", "not of type")])
def test_runs_per_job_is_checked(value, message):
    with pytest.raises(ebconfig.ConfigError, match=message):
        _study(runs_per_job=value)


@pytest.mark.parametrize("name", ["shared", "../up", ""])
def test_study_names_that_would_escape_or_clash_are_refused(name):
    with pytest.raises(ebconfig.ConfigError, match="study"):
        _study(study=name)


@pytest.mark.workflow
def test_adding_a_replicate_runs_only_its_runs(tiny_copy):
    """After a finished tiny study: fewer samplers plan no job but the aggregation (the
    compile step does not depend on the samplers), and a third replicate runs 6 new runs only."""
    work, results = tiny_copy
    fewer = work / "fewer.yaml"
    raw = yaml.safe_load(TINY.read_text())
    raw["samplers"].pop("emcee_vectorized")
    fewer.write_text(yaml.safe_dump(raw))
    proc = snakemake("-n", "--configfile", str(fewer), cwd=work)
    planned = proc.stdout
    assert "rule compile" not in planned and "rule sample" not in planned
    before = {p: p.stat().st_mtime_ns for p in (results / "runs").rglob("r*.json")}
    tiny = ebconfig.validate(yaml.safe_load(TINY.read_text()))
    assert len(before) == len(ebconfig.runs(tiny))
    more = work / "more.yaml"
    more.write_text(yaml.safe_dump(yaml.safe_load(TINY.read_text()) | {"replicates": [0, 1, 2]}))
    snakemake("--cores", "2", "--configfile", str(more), cwd=work)
    after = {p: p.stat().st_mtime_ns for p in (results / "runs").rglob("r*.json")}
    assert {p: after[p] for p in before} == before
    new = sorted(p for p in after if p not in before)
    cells = {(r.sampler, r.target, r.dim) for r in ebconfig.runs(tiny)}
    assert len(new) == len(cells) and all(p.name == "r2.json" for p in new)
    for manifest in (results / "batches").rglob("r0-2.json"):
        assert json.loads(manifest.read_text())["done_now"] == 1


@pytest.fixture
def tiny_copy(tiny_run, tmp_path):
    """A copy of the finished tiny study's directory (its metadata and caches too)."""
    work = tmp_path / "work"
    subprocess.run(["cp", "-a", str(tiny_run.attrs["workdir"]), str(work)], check=True)
    return work, work / "results" / "tiny"
