"""``exclusive_sampling`` ``auto`` (outside SLURM) and ``strict``: a timed section pauses
every other job on the machine.

Sections take turns (:class:`essbench.clock.Exclusive`), but untimed work of other jobs
(imports, compiles, throw-away runs, diagnostics) could still run on the other cores beside
a one-thread run: that made the fastest runs up to 1.2x as slow under ``--cores 2``
(median, ``blackjax_nuts``, 2026-12-05). Here a timed section stops it
(:func:`essbench.clock.pauses_others` says where):

- :func:`register` (called by :func:`essbench.runtime.start` before any work) puts the job
  on the machine's list of pausing jobs, ``<sampling lock>.jobs/<pid>``, holding the
  sampling lock shared for that moment only, so that a job that starts during a section
  waits for it to end before it works.
- :class:`Pause`: a section, once it holds the sampling lock exclusive, stops (``SIGSTOP``)
  every other listed job and every process it started, waits until each is stopped, and
  lets them go on (``SIGCONT``) when its section ends. Their work is paused, not
  refused: a section never waits for another job's work to reach a point where it gives
  way (the lock held shared for a job's life did that, and waited 37 core-seconds of the
  default study's 274), and the machine's other cores stay idle only during one-thread
  sections, the price of a clock with nothing beside it.
- Each pause is logged for each paused job (``<pid>.paused``: start and end, epoch
  seconds) before it goes on, so that a paused run's wall-time budget does not count it
  (:func:`paused_seconds`, :func:`essbench.pipeline.wall_time_budget`) and its record says
  how long its job was paused (``paused_seconds``).
- A guard (a shell reading a pipe, one per pausing job) lets the paused jobs go on if the
  pausing process dies inside its section (killed, out of memory): its pipe closes.

Linux only (``/proc``); elsewhere :class:`Pause` pauses nothing.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from pathlib import Path

import psutil  # a Snakemake dependency, as for essbench.clock.reap_children

# This process's entry in the list of pausing jobs (None: not listed).
_REGISTERED: Path | None = None
_GUARD: subprocess.Popen | None = None

# A paused process is stopped within microseconds of its signal; past this the section
# starts anyway (a process in uninterruptible sleep stops when it wakes).
STOP_TIMEOUT_SECONDS = 1.0

# The guard: remembers the last line (the pids paused now, or empty), and lets them go on
# when its pipe closes: when the pausing process ends, however it ends.
_GUARD_SCRIPT = 'p=""; while IFS= read -r line; do p="$line"; done; [ -n "$p" ] && kill -CONT $p'


def jobs_dir(lock: str) -> Path:
    """The list of the machine's pausing jobs that take turns on ``lock``."""
    return Path(lock + ".jobs")


def _identity(pid: int) -> str | None:
    """The process's start time: with its pid, it names one process (a pid is reused); None
    if there is no such live process (a zombie has ended)."""
    try:
        process = psutil.Process(pid)
        if process.status() == psutil.STATUS_ZOMBIE:
            return None
        return repr(process.create_time())
    except psutil.Error:
        return None


def register(lock: str) -> float:
    """Put this process on the list of pausing jobs of ``lock``, holding the lock shared
    while it does (it waits for a section in progress). Returns the seconds it waited."""
    global _REGISTERED
    from essbench import clock

    if _REGISTERED is not None:
        return 0.0
    start = time.perf_counter()
    held = clock._flock_in_turn(lock, shared=True)
    try:
        entry = jobs_dir(lock) / str(os.getpid())
        entry.parent.mkdir(parents=True, exist_ok=True)
        entry.write_text(f"{_identity(os.getpid())}\n")
        _REGISTERED = entry
    finally:
        clock._let_go(held)
    return time.perf_counter() - start


def registered() -> bool:
    """Whether this process is a listed job (its sections pause the others)."""
    return _REGISTERED is not None


def _remove(entry: Path) -> None:
    """A job's entry off the list, its pause log with it."""
    for path in (entry, entry.with_suffix(".paused")):
        with contextlib.suppress(OSError):
            path.unlink()


def unregister() -> None:
    """Take this process off the list; a process's end without it leaves an entry that
    :func:`listed_jobs` drops (its pid is gone or reused)."""
    global _REGISTERED
    if _REGISTERED is not None:
        _remove(_REGISTERED)
        _REGISTERED = None


def _forget_in_child() -> None:
    global _REGISTERED, _GUARD
    _REGISTERED = _GUARD = None  # a forked child is not the job (nor its guard's parent)


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_in_child)


def listed_jobs(lock: str) -> list[int]:
    """The pids of the live listed jobs of ``lock`` (stale entries removed)."""
    try:
        entries = [p for p in jobs_dir(lock).iterdir() if p.name.isdigit()]
    except OSError:
        return []
    pids = []
    for entry in entries:
        try:
            identity = entry.read_text().strip()
        except OSError:
            continue
        if _identity(int(entry.name)) == identity:
            pids.append(int(entry.name))
        else:  # the job ended without taking itself off (os._exit, killed)
            _remove(entry)
    return pids


def _descendants(pids) -> set[int]:
    """Every live process that ``pids`` started, and those started, in turn."""
    found = set()
    for pid in pids:
        with contextlib.suppress(psutil.Error):
            found.update(child.pid for child in psutil.Process(pid).children(recursive=True))
    return found


def _stopped(pid: int) -> bool:
    """Whether the process is stopped (or gone: nothing left to wait for)."""
    try:
        return psutil.Process(pid).status() in _STOPPED
    except psutil.Error:
        return True


_STOPPED = (
    psutil.STATUS_STOPPED,
    psutil.STATUS_TRACING_STOP,
    psutil.STATUS_ZOMBIE,
    psutil.STATUS_DEAD,
)


def _guard() -> subprocess.Popen | None:
    global _GUARD
    if _GUARD is None or _GUARD.poll() is not None:
        try:
            _GUARD = subprocess.Popen(
                ["/bin/sh", "-c", _GUARD_SCRIPT], stdin=subprocess.PIPE, text=True, bufsize=1
            )
        except OSError:  # pragma: no cover - no /bin/sh
            _GUARD = None
    return _GUARD


def _tell_guard(line: str) -> None:
    guard = _guard()
    if guard is not None:
        with contextlib.suppress(OSError, ValueError):
            guard.stdin.write(line + "\n")
            guard.stdin.flush()


class Pause:
    """Context manager: stop every other listed job of ``lock`` (None: nothing) and every
    process each of them started, wait until they are stopped, and let them go on at the
    end; ``roots`` (the jobs paused) and ``pids`` (every process) say what was paused.
    This process, its ancestors and its descendants are never paused."""

    def __init__(self, lock: str | None):
        self.lock, self.roots, self.pids = lock, [], []

    def __enter__(self) -> Pause:
        if not self.lock or not os.path.isdir("/proc"):
            return self
        own = os.getpid()
        roots = [pid for pid in listed_jobs(self.lock) if pid != own]
        if not roots:
            return self
        me = psutil.Process()
        spared = {own} | {p.pid for p in me.parents()} | _descendants([own])
        roots = [pid for pid in roots if pid not in spared]
        if not roots:
            return self
        try:
            self._pause(roots, spared)
        except BaseException:  # none stays paused behind an error
            self.__exit__(None, None, None)
            raise
        return self

    def _pause(self, roots: list[int], spared: set[int]) -> None:
        _tell_guard(" ".join(map(str, roots)))  # before any stop: a death from here on
        self.started_at = time.time()
        self.roots = self._stop(roots)  # first the jobs: they start nothing new
        for _ in range(2):  # then what they started (twice: a child that was forking)
            found = _descendants(self.roots) - spared - set(self.pids)
            self._stop(sorted(found))
        _tell_guard(" ".join(map(str, self.pids)))
        deadline = time.monotonic() + STOP_TIMEOUT_SECONDS
        for pid in self.pids:
            while not _stopped(pid) and time.monotonic() < deadline:
                time.sleep(0.0005)

    def _stop(self, pids) -> list[int]:
        stopped = []
        for pid in pids:
            with contextlib.suppress(OSError):  # gone, or not ours
                os.kill(pid, signal.SIGSTOP)
                stopped.append(pid)
        self.pids += stopped
        return stopped

    def __exit__(self, *exc) -> None:
        if not self.pids:
            return
        ended = time.time()
        directory = jobs_dir(self.lock)
        for pid in self.roots:  # logged before they go on: their budgets read it
            with contextlib.suppress(OSError), open(directory / f"{pid}.paused", "a") as log:
                log.write(f"{self.started_at!r} {ended!r}\n")
        for pid in reversed(self.pids):
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGCONT)
        _tell_guard("")


def paused_seconds(since: float, until: float | None = None) -> float:
    """Seconds this process (a listed job) was paused by other jobs' sections between the
    epoch times ``since`` and ``until`` (now); 0 for a process not listed."""
    if _REGISTERED is None:
        return 0.0
    until = time.time() if until is None else until
    try:
        lines = _REGISTERED.with_suffix(".paused").read_text().split("\n")
    except OSError:
        return 0.0
    total = 0.0
    for line in lines:
        parts = line.split()
        if len(parts) == 2:
            start, end = float(parts[0]), float(parts[1])
            total += max(0.0, min(end, until) - max(start, since))
    return total
