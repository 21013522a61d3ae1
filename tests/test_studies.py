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


@pytest.mark.parametrize(
    ("size", "labels"),
    [
        (10, [("n0-9", [2, 4])]),  # every model of the sampler in one batch
        (6, [("n0-4", [2]), ("n5-9", [4])]),  # whole models, never split to fill a batch
        (3, [("n0-2", [2]), ("n3-4", [2]), ("n5-7", [4]), ("n8-9", [4])]),  # more replicates
    ],
)
def test_batches_pack_each_samplers_models_whole_and_cover_every_run(size, labels):
    study = _study(replicates=[0, 1, 2, 3, 4], runs_per_job=size)
    batches = ebconfig.batches(study)
    runs = [r for b in batches for r in b.runs]
    assert len(runs) == len(set(runs)) and set(runs) == set(ebconfig.runs(study))
    for sampler in study["samplers"]:
        mine = [b for b in batches if b.sampler == sampler]
        assert all(len(b.runs) <= size and {r.sampler for r in b.runs} == {sampler} for b in mine)
        # Model by model (each model's replicates together), in the config's order.
        order = [(r.dim, r.replicate) for b in mine for r in b.runs]
        assert order == [(d, i) for d in study["dims"] for i in study["replicates"]]
        assert [(b.label, [d for _, d in b.models]) for b in mine] == labels


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
    # Each sampler's one batch (runs_per_job holds all its runs) did its two new runs only.
    grown = ebconfig.batches(ebconfig.validate(yaml.safe_load(more.read_text())))
    manifests = [results / "batches" / f"{b.key}.json" for b in grown]
    assert [json.loads(m.read_text())["done_now"] for m in manifests] == [2] * len(grown)


@pytest.fixture
def tiny_copy(tiny_run, tmp_path):
    """A copy of the finished tiny study's directory (its metadata and caches too)."""
    work = tmp_path / "work"
    subprocess.run(["cp", "-a", str(tiny_run.attrs["workdir"]), str(work)], check=True)
    return work, work / "results" / "tiny"
