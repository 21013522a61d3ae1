import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
SNAKEMAKE = str(BIN / "snakemake") if (BIN / "snakemake").exists() else shutil.which("snakemake")

# A worker's JAX backend may first start in any test (PyTensor's JAX mode, a JAX sampler),
# and then keeps its device count: give it the CPU devices essbench's JAX samplers set up in
# a fresh run process, so chain_method='parallel' works whichever test came first.
from essbench.samplers._jax import xla_flags  # noqa: E402

os.environ["XLA_FLAGS"] = xla_flags(os.environ.get("XLA_FLAGS", ""), max(os.cpu_count() or 1, 2))

# Each test worker's workflows hold core tokens of their own (essbench.clock.Turn): the two
# workers' studies would otherwise take turns on the machine's, as two users' studies should,
# and the suite would run as if on one worker. tests/test_clock.py checks shared tokens.
from essbench.clock import TURNS_ENV  # noqa: E402

os.environ[TURNS_ENV] = os.path.join(
    tempfile.gettempdir(), f"essbench-test-turns-{os.getuid()}-{os.getpid()}"
)


# Every process a test's Snakemake starts carries this in its environment, so that any of
# them still alive after Snakemake has ended is found (tests/test_clock.py).
JOB_TAG = "ESSBENCH_TEST_JOB_TAG"


def snakemake(*args, cwd, timeout=900, check=True, tag=None):
    """Run the real workflow (the repo's Snakefile) in ``cwd``; ``tag``: a value of
    :data:`JOB_TAG` every process it starts inherits (see :func:`tagged_processes`)."""
    env = dict(os.environ)
    env.pop("PYTENSOR_FLAGS", None)
    if tag:
        env[JOB_TAG] = tag
    proc = subprocess.run(
        [SNAKEMAKE, "--snakefile", str(REPO / "Snakefile"), *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
        preexec_fn=lambda: os.umask(0o022),  # the usual umask, whatever the runner's
    )
    if check and proc.returncode != 0:
        raise AssertionError(
            f"snakemake {' '.join(args)} failed ({proc.returncode}):\n{proc.stdout[-4000:]}"
            f"\n{proc.stderr[-4000:]}"
        )
    return proc


def tagged_processes(tag: str) -> list[int]:
    """The live (not zombie) processes whose environment holds ``JOB_TAG=tag``."""
    needle = f"{JOB_TAG}={tag}".encode()
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if needle not in (entry / "environ").read_bytes().split(b"\0"):
                continue
            state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:  # ended meanwhile, or not ours to read
            continue
        if state != "Z":
            found.append(int(entry.name))
    return found


@pytest.fixture
def repo():
    return REPO


@pytest.fixture(scope="session")
def tiny_run(tmp_path_factory):
    """The tiny study run once, uninterrupted: its runs table."""
    import pandas as pd

    work = tmp_path_factory.mktemp("tiny")
    config = REPO / "config" / "test" / "tiny.yaml"
    tag = f"tiny-{os.getpid()}-{id(work)}"
    snakemake("--cores", "2", "--configfile", str(config), cwd=work, tag=tag)
    survivors = tagged_processes(tag)
    snakemake(
        "--cores",
        "2",
        "--configfile",
        str(config),
        "--report",
        "results/tiny/snakemake_report.html",
        cwd=work,
    )
    runs = pd.read_parquet(work / "results" / "tiny" / "tables" / "runs.parquet")
    runs.attrs["workdir"] = work
    runs.attrs["survivors"] = survivors
    return runs


@pytest.hookimpl(tryfirst=True)  # before xdist's own hook reads the marks (it names the group)
def pytest_collection_modifyitems(items):
    """Under pytest-xdist (``make test`` runs two workers): a file's tests stay on one worker
    (its module fixtures are built once), and every test that reads the tiny study's
    directory shares one worker with it (``tiny_run`` is built once, and the tests that run a
    second study beside it see no other writer). The tests of the killed-and-resumed study
    (``resumed``, one of them also reads ``tiny_run``) share that worker too, so that it is
    built once."""
    for item in items:
        shared = {"tiny_run", "resumed"} & set(item.fixturenames)
        group = "tiny_run" if shared else item.nodeid.split("::")[0]
        item.add_marker(pytest.mark.xdist_group(group))


@pytest.fixture(autouse=True)
def _forget_user_plugins():
    """A test that validates a config naming files registers them: drop them afterwards."""
    yield
    from essbench import registry

    registry.forget_user()
