"""Fair clocks: what a run's clock shares the machine with, and what a job leaves behind.

- :class:`Neighbours` measures how busy the rest of the machine was while a run ran: the CPU
  seconds every other process used (the machine's busy time from ``/proc/stat`` less this
  process's and its children's), per second of the run's wall time, in cores. A sampler that
  declares ``t`` threads on ``n`` CPUs has ``n - t`` cores to spare for its neighbours; a
  run whose neighbours used more than that is timed under contention
  (:func:`essbench.policy.contention_reason`).
- :func:`prime_options` and :func:`prime`: a throw-away run paid before a model's first
  timed run in a batch (outside every clock, recorded apart), as the tutorial pays its
  throw-away chain: the first execution of a compiled function in a process, the
  allocator's first growth and the start of thread pools made the first JAX run of a
  batch 1.7-2.6x as slow as the rest.
- :class:`Turn` and :func:`hold_job_cores`: every job holds as many of the machine's core
  tokens (lock files, one per CPU, shared by every study and checkout of this user on the
  machine) as it keeps cores busy, from its start to its end, waiting for them before it
  starts its work. One Snakemake never starts more threads than its ``--cores``, so its
  jobs never wait; two Snakemakes on one machine (two studies at once, each with
  ``--cores`` of its own) never run more busy threads than the machine has CPUs, and a run
  that keeps more cores busy than its study's ``--cores`` granted (``stan_nuts``'s chain and
  reader under ``--cores 1``) holds them all the same. A job whose sections pause every
  other job (:func:`job_threads`) holds the tokens of the one thread it declares: its
  sections have every core by pausing the jobs of every study that pauses (``auto`` or
  ``strict``); a study with ``true`` or ``false`` beside it is neither paused nor kept off
  those cores.
- :class:`Sections` and :class:`Exclusive`: with ``exclusive_sampling`` on (``auto``, the
  default, except in a SLURM job; ``strict``; ``true``), each timed section of a run (the
  sampler's call; each attempt or chunk of an ESS-goal run) holds a lock file that every
  other run on the machine waits for (outside its clock and its budget), so no two runs'
  clocks ever overlap, whatever ``--cores`` lets Snakemake start beside them.
  :func:`shared_seconds` measures, from every run's sections, how long each clock ran
  beside another's (``policy.mark_shared_clocks``). With ``auto`` (outside SLURM) and
  ``strict`` a section also pauses every other job's work (:mod:`essbench.pause`,
  :func:`pauses_others`), so that no essbench work at all runs beside a timed section:
  another job's compile or diagnostics beside a one-thread run made the fastest runs up to
  1.2x as slow under ``--cores 2`` (median; ``blackjax_nuts``, 2026-12-05). Lock takers
  queue behind a turnstile (a waiting exclusive taker is not starved by shared ones), and
  a forked child closes its copies of the job's lock files (``os.register_at_fork``).
- :func:`reap_children`: ends every process a job started (httpstan's chain processes
  outlive a script that ends with ``os._exit``: they sleep on a pipe whose writing end they
  hold themselves).

Linux only for the load (``/proc/stat``); elsewhere it is NaN, never a guess.
"""

from __future__ import annotations

import contextlib
import json
import logging
import math
import os
import resource
import time
from time import perf_counter

from essbench.messages import said

log = logging.getLogger("essbench")

_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
# Fields of /proc/stat's "cpu" line that count as busy: user nice system irq softirq steal
# (idle and iowait are not; guest time is already inside user).
_BUSY_FIELDS = (0, 1, 2, 5, 6, 7)


def machine_busy_seconds() -> float:
    """CPU seconds every process on the machine has used since boot (NaN off Linux)."""
    try:
        with open("/proc/stat") as stat:
            fields = stat.readline().split()
    except OSError:
        return math.nan
    if not fields or fields[0] != "cpu":
        return math.nan
    values = [int(v) for v in fields[1:]]
    return sum(values[i] for i in _BUSY_FIELDS if i < len(values)) / _TICKS


def own_cpu_seconds() -> float:
    """CPU seconds of this process, its finished (waited-for) children and its live
    descendants (httpstan's chain processes are never waited for while a job runs)."""
    total = 0.0
    for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN):
        usage = resource.getrusage(who)
        total += usage.ru_utime + usage.ru_stime
    try:
        import psutil

        for child in psutil.Process().children(recursive=True):
            try:
                times = child.cpu_times()
            except psutil.Error:  # ended meanwhile: counted by RUSAGE_CHILDREN once waited
                continue
            total += times.user + times.system
    except ImportError:  # pragma: no cover - psutil is a Snakemake dependency
        pass
    return total


def cpu_count() -> int:
    """The CPUs this process may run on (its affinity; a SLURM job's own cores)."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # pragma: no cover - not Linux
        return os.cpu_count() or 1


class Sections:
    """A run's timed sections (each call of a sampler that its clock counts: one run, or
    each attempt or chunk of an ESS-goal run), and what they shared the machine with.

    ``with sections.timed(): ...`` wraps one section. With ``lock`` (a path: the machine's
    ``exclusive_sampling`` lock, :func:`machine_lock`) each section holds it
    (:class:`Exclusive`), so no two runs' sections overlap; the checks between an ESS-goal
    run's sections (its ESS, its next length) do not hold it, so another run can sample
    meanwhile. While a section waits for the lock, the run's wall-time budget (an
    ``ITIMER_REAL`` alarm) is paused: another run's sampling is not this run's time.
    :meth:`record` sums the sections: ``exclusive_wait_seconds``, ``timed_sections``, and
    :class:`Neighbours`' fields over the sections only (``neighbour_window_seconds`` their
    total, ``sampling_window_start``/``_end`` the first start and the last end), and
    ``sampling_cpu_seconds``, the run's own CPU seconds in them.
    """

    def __init__(self, lock: str | None = None):
        self.lock = lock
        self.wait_seconds = self.window_seconds = self.neighbour_cpu_seconds = 0.0
        self.own_cpu_seconds = 0.0
        self.strict = False  # whether its sections paused every other listed job's work
        self.paused_jobs = 0  # the most other jobs one of its sections paused
        self.intervals: list[tuple[float, float]] = []  # each section's (start, end), epoch

    @contextlib.contextmanager
    def timed(self):
        from essbench import pause

        # a listed job (auto outside SLURM, strict): every other listed job's work is paused
        pausing = self.lock is not None and pause.registered()
        with _alarm_paused():
            exclusive = Exclusive(self.lock).__enter__()
            try:
                paused = pause.Pause(self.lock if pausing else None).__enter__()
            except BaseException:
                exclusive.__exit__(None, None, None)
                raise
        self.strict = self.strict or pausing
        self.paused_jobs = max(self.paused_jobs, len(paused.roots))
        try:
            with Neighbours() as neighbours:
                yield
        finally:
            paused.__exit__(None, None, None)
            exclusive.__exit__(None, None, None)
            self.wait_seconds += exclusive.wait_seconds
        self.window_seconds += neighbours.window_seconds
        self.neighbour_cpu_seconds += neighbours.neighbour_cpu_seconds
        self.own_cpu_seconds += neighbours.own_cpu_seconds
        self.intervals.append((neighbours.started_at, neighbours.ended_at))

    def record(self) -> dict:
        load = (
            self.neighbour_cpu_seconds / self.window_seconds
            if self.window_seconds > 0
            else math.nan
        )
        return {
            "exclusive_sampling": self.lock is not None,
            "exclusive_wait_seconds": self.wait_seconds,
            # no other job's work beside its sections (they paused it: essbench.pause)
            "strict_sampling": self.strict,
            "paused_jobs": self.paused_jobs,
            "timed_sections": len(self.intervals),
            "neighbour_cpu_seconds": self.neighbour_cpu_seconds,
            "neighbour_load": load,
            "neighbour_window_seconds": self.window_seconds,
            # the run's own CPU seconds (its process and children) in its sections: per
            # second of its clock, the cores it kept busy (its declared threads, if true)
            "sampling_cpu_seconds": self.own_cpu_seconds,
            "sampling_window_start": self.intervals[0][0] if self.intervals else math.nan,
            "sampling_window_end": self.intervals[-1][1] if self.intervals else math.nan,
            # every section's (start, end): which runs' clocks ran at once (shared_seconds)
            "sampling_sections": json.dumps(
                [[round(a, 6), round(b, 6)] for a, b in self.intervals]
            ),
            "machine_cpus": machine_cpus(),
            "slurm_job_id": slurm_job_id(),
        }


def sections_of(record: dict) -> list[tuple[float, float]]:
    """A run record's timed sections, (start, end) in epoch seconds: ``sampling_sections``,
    or its one window (a record from before sections were recorded); [] if none."""
    text = record.get("sampling_sections")
    if isinstance(text, str) and text:
        return [(float(a), float(b)) for a, b in json.loads(text)]
    start, end = record.get("sampling_window_start"), record.get("sampling_window_end")
    try:
        start, end = float(start), float(end)
    except (TypeError, ValueError):
        return []
    return [(start, end)] if math.isfinite(start) and math.isfinite(end) else []


def shared_seconds(runs: list[tuple[object, list[tuple[float, float]]]]) -> list[float]:
    """For each run, given as ``(place, sections)``, the seconds of its timed sections during
    which a section of another of these runs in the same place (a host; a host and SLURM
    job) ran too: a sweep over every section's ends, place by place (a run's own sections
    never overlap each other)."""
    from collections import defaultdict

    by_place: dict = defaultdict(list)
    for i, (place, sections) in enumerate(runs):
        by_place[place].extend((a, b, i) for a, b in sections if b > a)
    out = [0.0] * len(runs)
    for items in by_place.values():
        crowded = _crowded_seconds(items)
        for a, b, i in items:
            out[i] += crowded(b) - crowded(a)
    return out


def _crowded_seconds(items: list[tuple[float, float, int]]):
    """The function t -> seconds before t during which two or more of the sections
    ``(start, end, run)`` ran at once (piecewise linear, from the sorted ends)."""
    import bisect

    events = sorted([(a, 1) for a, _, _ in items] + [(b, -1) for _, b, _ in items])
    # times[k]: the k-th event's time; before[k]: the crowded seconds before it;
    # crowded[k]: whether two or more sections run from it to the next event
    times, before, crowded, active, total = [], [], [], 0, 0.0
    for t, step in events:
        if times and crowded[-1]:
            total += t - times[-1]
        active += step
        times.append(t)
        before.append(total)
        crowded.append(active >= 2)

    def upto(t: float) -> float:
        k = bisect.bisect_right(times, t) - 1
        return 0.0 if k < 0 else before[k] + ((t - times[k]) if crowded[k] else 0.0)

    return upto


@contextlib.contextmanager
def _alarm_paused():
    """Stop the ``ITIMER_REAL`` alarm (a run's wall-time budget) for the block, then give it
    back the time it had left (none running: nothing to do)."""
    import signal

    left, interval = signal.setitimer(signal.ITIMER_REAL, 0)
    try:
        yield
    finally:
        if left > 0:
            signal.setitimer(signal.ITIMER_REAL, left, interval)


class Neighbours:
    """Context manager: ``neighbour_cpu_seconds`` (other processes' CPU seconds in the
    window), ``window_seconds`` and ``neighbour_load`` (their quotient, in cores).

    The machine-wide counter counts every CPU, not only this process's affinity, so on a
    cluster node shared with other jobs, their use counts too, as it should when they share
    caches and memory bandwidth with the run; ``cpu_count`` is then the node's.
    """

    def __enter__(self) -> Neighbours:
        self._machine, self._own = machine_busy_seconds(), own_cpu_seconds()
        self._start, self.started_at = perf_counter(), time.time()
        return self

    def __exit__(self, *exc) -> None:
        self.window_seconds = perf_counter() - self._start
        self.ended_at = time.time()
        machine = machine_busy_seconds() - self._machine
        own = own_cpu_seconds() - self._own
        self.own_cpu_seconds = own
        self.neighbour_cpu_seconds = max(0.0, machine - own) if math.isfinite(machine) else math.nan
        self.neighbour_load = (
            self.neighbour_cpu_seconds / self.window_seconds
            if self.window_seconds > 0
            else math.nan
        )

    def record(self) -> dict:
        return {
            "neighbour_cpu_seconds": self.neighbour_cpu_seconds,
            "neighbour_load": self.neighbour_load,
            "neighbour_window_seconds": self.window_seconds,
            "sampling_cpu_seconds": self.own_cpu_seconds,
            # The window in epoch seconds: with exclusive_sampling, no two runs' overlap.
            "sampling_window_start": self.started_at,
            "sampling_window_end": self.ended_at,
            "machine_cpus": machine_cpus(),
        }


def _user_temp_path(stem: str, suffix: str = "") -> str:
    """``<system temporary directory>/essbench-<stem>-<uid><suffix>``: one per machine and
    user, shared by every study and checkout of the user on the machine."""
    import tempfile

    uid = os.getuid() if hasattr(os, "getuid") else 0
    return os.path.join(tempfile.gettempdir(), f"essbench-{stem}-{uid}{suffix}")


def machine_lock() -> str:
    """The lock file of ``exclusive_sampling``: one per machine and user (in the system's
    temporary directory), so that runs of every study and checkout on the machine sample
    one at a time, not only a study's own; beside the core tokens where
    ``$ESSBENCH_TURNS_DIR`` moves them (the test suite's workers each have their own)."""
    moved = os.environ.get(TURNS_ENV)
    # In a SLURM job, its own: the jobs that share its cores (a bundle of the group `runs`)
    # take turns, not the other jobs SLURM put on the node, whose cores are their own.
    stem = f"sampling-slurm{slurm_job_id()}" if slurm_job_id() else "sampling"
    if moved and moved != "off":
        return os.path.join(moved, f"{stem}.lock")
    return _user_temp_path(stem, ".lock")


def slurm_job_id() -> str:
    """The SLURM job this process runs in ("" outside SLURM): the cores it may share."""
    return os.environ.get(SLURM_JOB_ENV, "")


# Set in every job that SLURM runs (sbatch, srun): its cores are its own.
SLURM_JOB_ENV = "SLURM_JOB_ID"


def exclusive_lock(setting: bool | str) -> str | None:
    """The lock file each timed section of a run holds in this job under the config's
    ``exclusive_sampling`` (``true``, ``false``, ``auto`` or ``strict``), or None: ``auto``
    is on except in a job that SLURM runs, whose cores are its own. ``true`` and ``strict``
    there make the jobs that share one SLURM job's cores (a bundle of
    ``group-components``) take turns, each SLURM job on its own lock (:func:`machine_lock`)."""
    if setting is True or setting == STRICT or (setting == "auto" and not slurm_job_id()):
        return machine_lock()
    return None


# exclusive_sampling's strictest setting: turns and pauses everywhere, in SLURM jobs too.
STRICT = "strict"


# Every lock file this process holds (a core token, the sampling lock shared or exclusive).
# A forked child (httpstan's chain processes, a process pool's workers) shares the parent's
# open files, and a ``flock`` lasts until the last of them closes: a worker forked while the
# job held the lock kept it held after the job let go (strict: the job then waited for its
# own child's hold, for ever). So a forked child closes its copies at once; the parent's
# locks stay held (closing a duplicate releases nothing while another is open).
_HELD: set = set()


def _close_inherited_locks() -> None:
    global _JOB_TURN
    for held in list(_HELD):
        with contextlib.suppress(OSError):
            held.close()
    _HELD.clear()
    _JOB_TURN = None  # the child is not the job


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_close_inherited_locks)


def _held(file):
    """Track ``file`` (an open, locked lock file) until it is let go (:func:`_let_go`)."""
    _HELD.add(file)
    return file


def _let_go(file) -> None:
    _HELD.discard(file)
    file.close()  # closing releases the lock


def _flock_in_turn(path: str, shared: bool):
    """Open ``path`` and lock it shared or exclusive (``flock``), behind ``<path>.turnstile``:
    a taker holds the turnstile while it waits, so that an exclusive taker waits only for
    the shared holders there were when it came, not for every one that comes after it (a
    stream of shared takers would otherwise starve it). Returns the open, locked file."""
    import fcntl

    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    with open(path + ".turnstile", "a") as turnstile:
        fcntl.flock(turnstile, fcntl.LOCK_EX)  # released when it closes, below
        held = open(path, "a")  # noqa: SIM115 - held until the caller lets go (_let_go)
        try:
            fcntl.flock(held, fcntl.LOCK_SH if shared else fcntl.LOCK_EX)
        except BaseException:
            held.close()
            raise
    return _held(held)


class Exclusive:
    """Context manager: hold an exclusive lock on ``path`` (``flock``) for the run's
    sampling, so that runs of every job on this machine sample one at a time; None: no
    lock (``wait_seconds`` 0). ``wait_seconds``: how long the run waited for it, outside its
    clock. Where sections pause the other jobs (:func:`pauses_others`), a job that starts
    holds it shared a moment (:func:`hold_untimed_work`): it waits for a section in progress.
    A lock on a local disk: on a cluster, jobs on different nodes never share a clock's
    cores, and ``flock`` on a network file system is not to be relied on."""

    def __init__(self, path: str | None):
        self.path, self.wait_seconds, self._file = path, 0.0, None

    def __enter__(self) -> Exclusive:
        if self.path:
            start = perf_counter()
            self._file = _flock_in_turn(self.path, shared=False)
            self.wait_seconds = perf_counter() - start
        return self

    def __exit__(self, *exc) -> None:
        if self._file is not None:
            _let_go(self._file)
            self._file = None


def pauses_others(setting: bool | str) -> bool:
    """Whether a job's timed sections pause every other job's work (:mod:`essbench.pause`)
    under the config's ``exclusive_sampling``: ``strict`` everywhere, ``auto`` except in a
    job that SLURM runs (whose cores are its own); ``true`` only takes turns."""
    return setting == STRICT or (setting == "auto" and not slurm_job_id())


def job_threads(busy: int, setting, local: bool = True) -> int:
    """The threads a ``sample`` job declares to Snakemake, whose runs keep ``busy`` cores
    busy while they sample. Where its timed sections pause every other job
    (:func:`pauses_others`) and Snakemake runs the jobs on this machine itself (``local``:
    not when it submits them to SLURM, whose jobs get the cores declared here), a section
    has every core whatever the job declared, and the job's other work (start-up, model
    build, compiles, throw-away runs, diagnosis) is one thread: it declares 1, so that
    Snakemake runs other jobs' work beside it, never beside a section. Elsewhere: ``busy``."""
    return 1 if local and pauses_others(setting) else int(busy)


def hold_untimed_work(setting) -> float:
    """Where sections pause the others (:func:`pauses_others`), list this process (a job's,
    before its work) among the machine's pausing jobs, whose work every timed section of
    another job pauses (:mod:`essbench.pause`); it waits for a section in progress first.
    Returns the seconds it waited; other settings: nothing, 0."""
    from essbench import pause

    path = exclusive_lock(setting) if pauses_others(setting) else None
    return 0.0 if path is None else pause.register(path)


# Where the core tokens live instead of the default (a directory), or "off" (none taken).
TURNS_ENV = "ESSBENCH_TURNS_DIR"


def turns_dir() -> str:
    """The directory of the machine's core tokens (:class:`Turn`): one per machine and user
    (in the system's temporary directory), so that the jobs of every study and checkout on
    the machine share them, not only a study's own; ``$ESSBENCH_TURNS_DIR`` where set."""
    return os.environ.get(TURNS_ENV) or _user_temp_path("turns")


def machine_cpus() -> int:
    """The machine's CPUs (every one, not this process's affinity): the number of tokens."""
    return os.cpu_count() or 1


class Turn:
    """Context manager: hold ``cores`` of the machine's core tokens in ``directory``
    (``flock`` on ``core<i>.lock``, i < the machine's CPUs; at most all of them); None: no
    tokens (``wait_seconds`` 0, ``cores`` 0).

    Takers line up on ``queue.lock``: the one at its head takes free tokens as they come
    until it has its ``cores``, then leaves the queue, so a job that needs two cores is not
    starved by one-core jobs that keep taking whichever one is free. Only the head of the
    queue waits while it holds tokens, and what it waits for (running jobs) never waits, so
    no two takers wait for each other. A token is released on ``__exit__`` or when its
    process dies (the kernel drops a dead process's locks). ``wait_seconds``: how long the
    taker waited. Lock files on a local disk: on a cluster, each node has its own (its jobs'
    cores are the node's).
    """

    # How often the head of the queue looks for free tokens, beside the very jobs it waits
    # for: every 2 ms it used 0.23 CPU-s in a 6 s wait, every 20 ms 0.08 (2026-12-05); a job
    # then starts at most 20 ms late, outside every clock.
    POLL_SECONDS = 0.02

    def __init__(self, directory: str | None, cores: int = 1, cpus: int | None = None):
        self.directory = directory
        self.cpus = int(cpus or machine_cpus())
        self.cores = max(1, min(int(cores), self.cpus)) if directory else 0
        self.wait_seconds = 0.0
        self._held: dict[int, object] = {}

    def __enter__(self) -> Turn:
        if not self.directory:
            return self
        import fcntl

        start = perf_counter()
        os.makedirs(self.directory, exist_ok=True)
        try:
            with open(os.path.join(self.directory, "queue.lock"), "a") as queue:
                fcntl.flock(queue, fcntl.LOCK_EX)  # released when the file closes
                while True:
                    for i in range(self.cpus):
                        if len(self._held) < self.cores and i not in self._held:
                            self._take(i, fcntl)
                    if len(self._held) == self.cores:
                        break
                    time.sleep(self.POLL_SECONDS)
        except BaseException:
            self._release()
            raise
        self.wait_seconds = perf_counter() - start
        return self

    def _take(self, i: int, fcntl) -> None:
        token = open(os.path.join(self.directory, f"core{i}.lock"), "a")  # noqa: SIM115
        try:
            fcntl.flock(token, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:  # another run holds it
            token.close()
            return
        self._held[i] = _held(token)

    def _release(self) -> None:
        for token in self._held.values():
            _let_go(token)
        self._held = {}

    def __exit__(self, *exc) -> None:
        self._release()


# The tokens this process holds for its whole life (:func:`hold_job_cores`).
_JOB_TURN: Turn | None = None


def hold_job_cores(cores: int, directory: str | None = None) -> Turn:
    """Hold ``cores`` of the machine's core tokens until this process ends (a job's, taken as
    its script starts: :func:`essbench.runtime.start`); a second call lets go of the first
    call's tokens before it queues for the new count: a running job that waited for more
    tokens while holding some could wait for another such job for ever. ``directory``:
    :func:`turns_dir` by default; ``ESSBENCH_TURNS_DIR=off`` takes none."""
    global _JOB_TURN
    release_job_cores()
    directory = directory or turns_dir()
    turn = Turn(None if directory == "off" else directory, cores)
    _JOB_TURN = turn.__enter__()
    return turn


def release_job_cores() -> None:
    """Let go of this process's tokens now (a process's end does it by itself)."""
    global _JOB_TURN
    if _JOB_TURN is not None:
        _JOB_TURN.__exit__(None, None, None)
        _JOB_TURN = None


def job_turn() -> Turn | None:
    """The tokens this process holds (None: it took none, e.g. outside a workflow job)."""
    return _JOB_TURN


# A throw-away run's length: the shared rule for a sampler's LENGTH_OPTION and WARMUP_OPTION.
PRIME_LENGTH = 20


def prime_options(module, options: dict) -> dict:
    """The options of a batch's throw-away run: the run's own, with its warm-up and length
    cut to :data:`PRIME_LENGTH` (the shared rule) or the sampler's ``PRIME_OPTIONS``
    (nested samplers: a few live points and a call cap). Chains, walkers, chain method and
    every other option are kept: they decide which functions are compiled and run."""
    primed = dict(options)
    declared = module.PRIME_OPTIONS
    if declared is not None:
        primed.update(declared)
        return primed
    for key in (module.LENGTH_OPTION, module.WARMUP_OPTION):
        if key and key in primed:
            primed[key] = min(int(primed[key]), PRIME_LENGTH)
    return primed


def prime(module, problem, options: dict, seed: int) -> dict:
    """Run ``module`` once, short, on ``problem`` and throw the run away: its seconds (wall
    time of the whole call) and its error, if any (the batch's runs then fail or not on
    their own). A sampler whose ``PRIME_OPTIONS`` is False is not run (0 seconds)."""
    if module.PRIME_OPTIONS is False:
        return {"prime_seconds": 0.0, "prime_error": ""}
    start = perf_counter()
    error = ""
    try:
        module.run(problem, prime_options(module, options), seed)
    except Exception as exc:  # a failed prime is reported, never raised
        error = said(exc, 200)
        log.warning("the batch's throw-away run failed: %s", error)
    return {"prime_seconds": perf_counter() - start, "prime_error": error}


def reap_children(timeout: float = 3.0) -> list[int]:
    """Terminate every live descendant of this process (then kill those still alive after
    ``timeout`` seconds); return their pids. Nothing a job starts may outlive it."""
    try:
        import psutil
    except ImportError:  # pragma: no cover - psutil is a Snakemake dependency
        return []
    try:
        children = psutil.Process().children(recursive=True)
    except psutil.Error:  # pragma: no cover
        return []
    for child in children:
        with contextlib.suppress(psutil.Error):
            child.terminate()
    _, alive = psutil.wait_procs(children, timeout=timeout)
    for child in alive:
        with contextlib.suppress(psutil.Error):
            child.kill()
    psutil.wait_procs(alive, timeout=timeout)
    return [child.pid for child in children]
