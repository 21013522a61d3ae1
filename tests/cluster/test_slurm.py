"""The tiny study on a real single-node SLURM cluster (with accounting), started here.

Needs root: the fixture installs Debian's slurm-wlm, slurmdbd, munge and mariadb-server when
missing, starts munged, MariaDB, slurmdbd, slurmctld and slurmd (tests/cluster/start-slurm.sh)
and stops them by their PIDs afterwards. The job status path is the plugin's default (sacct).
"""

import os
import re
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import yaml
from conftest import REPO, SNAKEMAKE

from essbench import config as ebconfig
from essbench import policy

HERE = Path(__file__).parent
pytestmark = pytest.mark.workflow


@pytest.fixture(scope="module")
def slurm_cluster():
    if os.geteuid() != 0:
        pytest.skip(
            "the SLURM cluster test needs root: it installs and starts slurmctld, "
            "slurmd, slurmdbd, munged and MariaDB (CI runs as root)"
        )
    before = _slurm_etc()
    start = subprocess.run(
        ["bash", str(HERE / "start-slurm.sh")], capture_output=True, text=True, timeout=900
    )
    assert start.returncode == 0, start.stdout + start.stderr
    yield
    subprocess.run(["bash", str(HERE / "stop-slurm.sh")], timeout=120)
    # A slurm.conf left behind names a controller that is gone: every Snakemake start after
    # this test (the executor plugin runs `scontrol show config`) would wait 9 s for it.
    assert _slurm_etc() == before, "stop-slurm.sh did not restore /etc/slurm"


def _slurm_etc() -> dict:
    """The SLURM configuration files the test cluster writes, as they are now (None: absent)."""
    return {
        name: (path.read_bytes() if path.exists() else None)
        for name in ("slurm.conf", "slurmdbd.conf")
        for path in [Path("/etc/slurm") / name]
    }


def test_tiny_study_runs_through_slurm(slurm_cluster, tmp_path):
    # (not beside tiny_run: this test mostly waits on SLURM, and under pytest-xdist it waits
    # on a worker of its own while the tiny study's tests run on the other)
    raw = yaml.safe_load((REPO / "config" / "test" / "tiny.yaml").read_text())
    # Two chains on two cores: a sample job whose runs keep two cores busy, which its SLURM
    # job must be given, whatever pausing does inside it (essbench.clock.job_threads).
    raw["samplers"]["pymc_nuts"]["cores"] = 2
    config = tmp_path / "tiny.yaml"
    config.write_text(yaml.safe_dump(raw))
    study = ebconfig.validate(raw)
    expected = len(ebconfig.runs(study))
    env = dict(os.environ)
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env['PATH']}"
    env.pop("PYTENSOR_FLAGS", None)
    # The plugin polls sacct; if accounting broke, it would wait for ever: hence the KILL.
    proc = subprocess.run(
        [
            "timeout",
            "-s",
            "KILL",
            "1500",
            SNAKEMAKE,
            "--snakefile",
            str(REPO / "Snakefile"),
            "--profile",
            str(REPO / "profiles" / "slurm"),
            "--configfile",
            str(config),
            # strict: turns and pauses inside each SLURM job too (auto, tiny.yaml's, does
            # neither there: each SLURM job's cores are its own)
            "--config",
            "exclusive_sampling=strict",
            # The plugin's first status check waits 40 s (and every check after one that
            # saw no job finish waits 10 s more): right for a real cluster, but on this
            # one-node cluster it made the test wait ~40 s per stage of the DAG.
            "--slurm-init-seconds-before-status-checks",
            "2",
            "--default-resources",
            "slurm_partition=debug",
            "mem_mb=1000",
            "runtime=30",
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        env=env,
    )
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-5000:]
    job_ids = re.findall(r"has been submitted with SLURM jobid (\d+)", out)
    assert job_ids, out[-3000:]
    # Every job but the target rule `all` went through SLURM: nothing ran locally.
    assert set(re.findall(r"^localrule (\w+):", out, re.M)) == {"all"}, out[-3000:]
    ran = set(re.findall(r"Finished jobid: \d+ \(Rule: (\w+)\)", out))
    assert {"compile", "sample", "aggregate", "figures", "summary"} <= ran
    # Small runs were bundled: runs_per_job puts a sampler's runs in one `sample` job, and
    # group-components puts several `sample` jobs in one SLURM job.
    stats = dict(re.findall(r"^(\w+)\s+(\d+)$", out, re.M))
    assert int(stats["sample"]) < expected, stats
    jobs = sum(int(n) for rule, n in stats.items() if rule not in ("all", "total"))
    assert len(job_ids) < jobs, (len(job_ids), stats)
    # SLURM's accounting saw every job complete, and each left its log.
    states = _sacct(job_ids, "State")
    assert set(job_ids) <= set(states) and set(states.values()) == {"COMPLETED"}, states
    logs = list((tmp_path / ".snakemake" / "slurm_logs").rglob("*.log"))
    assert {p.stem for p in logs} >= set(job_ids)
    # The whole study, as a local run makes it: every run, each with its costs and provenance.
    runs = pd.read_parquet(tmp_path / "results" / "tiny" / "tables" / "runs.parquet")
    assert len(runs) == expected and (runs["status"] == "ok").all()
    for column in ("cost_per_ess_mean", "ess_bulk_min", "sampling_seconds", "prov_git_commit"):
        assert runs[column].notna().all(), column
    # exclusive_sampling: strict: the sample jobs bundled in one SLURM job share its cores,
    # took turns on that job's own lock and paused each other's work while they sampled;
    # every run says which SLURM job it ran in.
    assert runs["slurm_job_id"].astype(str).isin(job_ids).all(), runs["slurm_job_id"]
    costed = runs[runs["sampler"] != "exact"]
    assert costed["exclusive_sampling"].all() and costed["strict_sampling"].all()
    assert (costed["paused_jobs"] >= 0).all()
    assert (costed["shared_clock_share"] < policy.SHARED_CLOCK_TOLERANCE).all()
    # The two-thread sampler's SLURM job was given two CPUs: the submission declared its
    # sampler's threads (not the one thread a job declares where it pauses the others).
    two = runs.loc[runs["sampler"] == "pymc_nuts", "slurm_job_id"].astype(str).unique()
    allocated = _sacct(two, "AllocCPUS")
    assert set(two) <= set(allocated), allocated
    assert all(int(allocated[job]) >= 2 for job in two), allocated


def _sacct(job_ids, field: str) -> dict:
    """SLURM's accounting of each job (its allocation, not its steps): job id -> ``field``."""
    proc = subprocess.run(
        ["sacct", "-a", "-X", "-n", "-P", "-o", f"JobID,{field}", "-j", ",".join(job_ids)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    return dict(line.split("|") for line in proc.stdout.split())
