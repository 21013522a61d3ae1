"""Process set-up for the workflow's scripts (imports nothing heavy).

``start`` must run before NumPy, PyTensor or PyMC are imported: it sends stderr (and every
child process's) to the rule's log, lists the job, before any work, among those that every
other job's timed section pauses (``exclusive_sampling`` ``auto`` outside SLURM, or
``strict``: :mod:`essbench.pause`), pins BLAS/OpenMP threads to the rule's ``threads``, holds
a core token per thread for the job's whole life (:func:`essbench.clock.hold_job_cores`), and
points PyTensor at the study's compile cache.
"""

import atexit
import contextlib
import logging
import os
import sys

THREAD_VARS = (
    "OMP_NUM_THREADS",
    "OPENBLAS_NUM_THREADS",
    "MKL_NUM_THREADS",
    "VECLIB_MAXIMUM_THREADS",
    "NUMEXPR_NUM_THREADS",
    "NUMBA_NUM_THREADS",
)


def export_pythonpath(path: str) -> None:
    """Put ``path`` first on PYTHONPATH so that child processes import this package."""
    parts = [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p and p != path]
    os.environ["PYTHONPATH"] = os.pathsep.join([path, *parts])


def pin_threads(threads: int) -> None:
    for var in THREAD_VARS:
        os.environ[var] = str(threads)


def set_compiledir(path: str | None) -> None:
    if not path:
        return
    os.makedirs(path, exist_ok=True)
    flags = [f for f in os.environ.get("PYTENSOR_FLAGS", "").split(",") if f]
    flags = [f for f in flags if not f.startswith(("compiledir=", "base_compiledir="))]
    flags.append(f"base_compiledir={os.path.abspath(path)}")
    os.environ["PYTENSOR_FLAGS"] = ",".join(flags)


def redirect_stderr(log_path: str) -> None:
    os.makedirs(os.path.dirname(os.path.abspath(log_path)), exist_ok=True)
    log = open(log_path, "a", buffering=1)  # noqa: SIM115 - lives as long as the process
    os.dup2(log.fileno(), 2)
    sys.stderr = log
    logging.basicConfig(
        stream=log, level=logging.WARNING, format="%(asctime)s %(name)s %(levelname)s %(message)s"
    )
    for name in ("essbench", "pymc"):
        logging.getLogger(name).setLevel(logging.INFO)


def start(smk, compiledir: str | None = None) -> None:
    """Set up a Snakemake script process from its ``snakemake`` object.

    Whatever the script's end, nothing it started outlives it: :func:`finish` ends its
    child processes, and so does the interpreter's exit after an error (``atexit``)."""
    atexit.register(_reap)
    if smk.log:
        redirect_stderr(str(smk.log[0]))
    # exclusive_sampling auto (outside SLURM) or strict: list the job first (it waits for a
    # section in progress), so that every run's timed section from here on pauses its work.
    from essbench.clock import hold_untimed_work

    config = getattr(smk, "config", None) or {}
    waited = hold_untimed_work(config.get("exclusive_sampling", "auto"))
    if waited > 0.1:
        logging.getLogger("essbench").info(
            "waited %.1f s for a run's timed section to end (it pauses every other job)", waited
        )
    # BLAS and OpenMP threads: as many as the job's runs keep busy while they sample (a
    # sample job under pausing declares fewer: essbench.clock.job_threads), else its own.
    pin_threads(int(smk.params.get("sampler_threads") or smk.threads))
    # The machine's core tokens for the job's threads, before any work: two studies at once
    # never run more busy threads than the machine has CPUs (essbench.clock.Turn).
    from essbench.clock import hold_job_cores

    turn = hold_job_cores(int(smk.threads))
    if turn.wait_seconds > 0.1:
        logging.getLogger("essbench").info(
            "waited %.1f s for %d free core(s): another study's jobs held them",
            turn.wait_seconds,
            turn.cores,
        )
    set_compiledir(compiledir if compiledir is not None else smk.params.get("compiledir"))
    # The study's own sampler and target files (checked by the config validation already).
    # A user's JAX file may start JAX's backend as it is imported: essbench's XLA flags
    # (one thread, a device per core) first.
    from essbench.samplers._jax import xla_flags

    devices = max(int(smk.threads), os.cpu_count() or 1)
    os.environ["XLA_FLAGS"] = xla_flags(os.environ.get("XLA_FLAGS", ""), devices)
    from essbench import registry

    problems = registry.register_config(getattr(smk, "config", None) or {})
    if problems:
        raise RuntimeError("\n".join(problems))


def finish() -> None:
    """End a script's process now that its outputs are written, without the interpreter's
    teardown: freeing every module and object one by one took 0.5 s of an idle process and
    1.1 s of one that had run nutpie (measured on the 2-core machines), paid by every job.
    Logs and standard streams are flushed first; every output was written and closed
    (atomically, by :mod:`essbench.io`) before this is called. Never called on an error:
    a failing script ends with its traceback and exit status, as usual (its child processes
    ended all the same, by the ``atexit`` hook of :func:`start`).

    ``os._exit`` skips every exit hook, among them the one that would shut a
    ``ProcessPoolExecutor``'s workers down: httpstan's chain processes (stan_nuts) then
    slept on forever, one per batch, parented to init. They are ended here first."""
    _reap()
    logging.shutdown()
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError):  # a closed stream
            stream.flush()
    os._exit(0)


def _reap() -> None:
    from essbench.clock import reap_children
    from essbench.pause import unregister

    unregister()
    pids = reap_children()
    if pids:
        logging.getLogger("essbench").info("ended %d child process(es): %s", len(pids), pids)
