"""Fair clocks (issue 27): the throw-away run before a batch, the neighbour load a run
records, the contention caveat, and no process outliving its job."""

import json
import math
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pandas as pd
import psutil
import pytest

from essbench import clock, pause, policy, registry

REPO = __import__("pathlib").Path(__file__).resolve().parents[1]


def test_prime_options_cut_warm_up_and_length_and_keep_the_rest():
    module = registry.sampler("blackjax_nuts")
    options = {**module.DEFAULTS, "tune": 1000, "draws": 500, "chains": 3}
    primed = clock.prime_options(module, options)
    assert primed["tune"] == primed["draws"] == clock.PRIME_LENGTH
    assert primed["chains"] == 3 and primed["chain_method"] == options["chain_method"]
    # shorter than the shared length stays as it is
    assert clock.prime_options(module, {**options, "draws": 5})["draws"] == 5
    ensemble = registry.sampler("emcee")
    primed = clock.prime_options(ensemble, {**ensemble.DEFAULTS, "burn": 300, "steps": 900})
    assert primed["burn"] == primed["steps"] == clock.PRIME_LENGTH
    assert primed["nwalkers"] == ensemble.DEFAULTS["nwalkers"]


def test_prime_options_a_sampler_declares_win():
    dynesty = registry.sampler("dynesty")
    primed = clock.prime_options(dynesty, dynesty.DEFAULTS)
    assert primed["nlive"] == dynesty.PRIME_OPTIONS["nlive"] < dynesty.DEFAULTS["nlive"]
    assert primed["maxcall"] == dynesty.PRIME_OPTIONS["maxcall"]


def test_pm_sample_samplers_are_not_primed_they_pay_their_own_throw_away_chain():
    for name in ("pymc_nuts", "pymc_metropolis", "pymc_demetropolisz"):
        module = registry.sampler(name)
        assert module.PRIME_OPTIONS is False
        assert clock.prime(module, None, module.DEFAULTS, 1) == {
            "prime_seconds": 0.0,
            "prime_error": "",
        }


def test_a_failing_prime_is_reported_not_raised():
    class Broken:
        PRIME_OPTIONS = None
        LENGTH_OPTION = "draws"
        WARMUP_OPTION = None

        @staticmethod
        def run(problem, options, seed):
            raise RuntimeError("no model\nsecond line")

    out = clock.prime(Broken, None, {"draws": 100}, 1)
    assert out["prime_error"] == "RuntimeError: no model" and out["prime_seconds"] >= 0


def _fake_clocks(monkeypatch, readings, times):
    """The machine's busy and this process's CPU seconds read as ``readings`` (pairs, in
    turn), ``perf_counter`` as ``times``."""
    readings, times, state = iter(readings), iter(times), {}

    def machine():
        state["now"] = next(readings)
        return state["now"][0]

    monkeypatch.setattr(clock, "machine_busy_seconds", machine)
    monkeypatch.setattr(clock, "own_cpu_seconds", lambda: state["now"][1])
    monkeypatch.setattr(clock, "perf_counter", lambda: next(times))


def test_neighbour_load_is_other_processes_cpu_per_second(monkeypatch):
    # (machine busy, own) at start and end
    _fake_clocks(monkeypatch, [(100.0, 10.0), (103.0, 11.0)], [50.0, 52.0])
    with clock.Neighbours() as neighbours:
        pass
    assert neighbours.neighbour_cpu_seconds == pytest.approx(2.0)  # 3 busy, 1 of them ours
    assert neighbours.neighbour_load == pytest.approx(1.0)
    assert neighbours.record()["neighbour_window_seconds"] == pytest.approx(2.0)
    assert neighbours.record()["sampling_cpu_seconds"] == pytest.approx(1.0)


def test_a_runs_own_work_is_not_its_neighbours():
    """Busy for 0.6 s in this process: the machine's busy time rises by at least that, and
    the window's own CPU time takes it out (machine minus own is what the rest used)."""
    own_before = clock.own_cpu_seconds()
    with clock.Neighbours() as neighbours:
        end = time.process_time() + 0.6
        while time.process_time() < end:
            pass
    assert clock.own_cpu_seconds() - own_before >= 0.6
    assert math.isfinite(neighbours.neighbour_load) and neighbours.neighbour_load >= 0
    # the other pytest worker may keep one CPU busy; never more than the machine has
    assert neighbours.neighbour_load <= (psutil.cpu_count() or 1) + 0.5


@pytest.mark.parametrize(
    ("load", "threads", "cpus", "contended"),
    [
        (0.1, 1, 2, False),
        (1.2, 1, 2, False),  # the other core's job: within the cores the run left free
        (1.3, 1, 2, True),
        (0.3, 2, 2, True),  # a 2-thread run on 2 CPUs has none to spare
        (0.2, 2, 2, False),
        (math.nan, 1, 2, False),  # no /proc: nothing is claimed
    ],
)
def test_contention_is_load_beyond_the_cores_a_run_leaves_free(load, threads, cpus, contended):
    reason = policy.contention_reason(
        {"neighbour_load": load, "threads": threads, "machine_cpus": cpus}
    )
    assert bool(reason) is contended
    if contended:
        assert f"{load:.2f} cores" in reason and f"{cpus} CPUs" in reason


def test_a_run_that_needs_more_cores_than_it_was_granted_counts_what_it_needs():
    """stan_nuts needs 2 cores; under --cores 1 Snakemake grants 1, and a neighbour on the
    other core then slows it (1.9x measured by benchmarks/neighbours.py): contended."""
    granted = {"neighbour_load": 1.0, "threads": 1, "machine_cpus": 2}
    assert policy.contention_reason(granted) == ""
    assert "beside its 2 thread(s)" in policy.contention_reason(granted | {"threads_needed": 2})


def test_stan_nuts_declares_the_core_its_httpstan_reader_keeps_busy():
    stan = registry.sampler("stan_nuts")
    assert stan.threads({**stan.DEFAULTS, "chains": 1, "cores": 1}) == 2
    assert stan.threads({**stan.DEFAULTS, "chains": 4, "cores": 2}) == 3


JOB = """
import json, sys, types
sys.path.insert(0, {src!r})
from essbench import runtime
smk = types.SimpleNamespace(
    log=[{log!r}], threads=1, params={{}}, config={{}},
)
runtime.start(smk)
from essbench import registry
from essbench.problem import build_problem
import pandas as pd
import psutil
name, options, fail = {name!r}, {options!r}, {fail!r}
module = registry.sampler(name)
problem = build_problem("gaussian_iid", 4, {{}}, "numba")
module.run(problem, {{**module.DEFAULTS, **options}}, 3)
children = [p.pid for p in psutil.Process().children(recursive=True)]
print(json.dumps(children), flush=True)
if fail:
    raise RuntimeError("the script fails after sampling")
runtime.finish()
"""


@pytest.mark.parametrize(
    ("name", "options", "fail"),
    [
        ("stan_nuts", {"tune": 100, "draws": 100, "chains": 2, "cores": 2}, False),
        ("stan_nuts", {"tune": 100, "draws": 100, "chains": 1, "cores": 1}, True),
        ("pymc_nuts", {"tune": 100, "draws": 100, "chains": 2, "cores": 2}, False),
    ],
)
def test_nothing_a_job_starts_outlives_it(tmp_path, name, options, fail):
    """A job's script (runtime.start ... runtime.finish, or an error after sampling) leaves
    no process behind: stan_nuts's chain processes (httpstan's pool) used to sleep on after
    every batch, parented to init."""
    script = JOB.format(
        src=str(REPO / "src"), log=str(tmp_path / "job.log"), name=name, options=options, fail=fail
    )
    proc = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(script)], capture_output=True, text=True, timeout=600
    )
    assert (proc.returncode != 0) is fail, proc.stderr[-3000:] + (tmp_path / "job.log").read_text()
    children = json.loads(proc.stdout.strip().splitlines()[-1])
    if name == "stan_nuts":
        assert children, "httpstan ran its chains in no child process: the test sees nothing"
    deadline = time.time() + 10
    alive = children
    while alive and time.time() < deadline:
        alive = [
            pid
            for pid in children
            if psutil.pid_exists(pid) and psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
        ]
        time.sleep(0.2)
    assert not alive, f"{name}: processes {alive} outlived their job"


def test_no_process_of_the_tiny_study_outlives_snakemake(tiny_run):
    """Every process the tiny study's jobs started (runs, compiles, reports) has ended by
    the time Snakemake returns: found by the tag each inherits in its environment."""
    assert tiny_run.attrs["survivors"] == [], tiny_run.attrs["survivors"]


def test_the_tiny_studys_runs_record_their_neighbours_and_their_throw_away_run(tiny_run):
    ok = tiny_run[tiny_run["status"] == "ok"]
    assert (ok["neighbour_load"] >= 0).all() and (ok["neighbour_window_seconds"] > 0).all()
    # Every job held a core token per thread Snakemake granted it (tiny.yaml's auto pauses:
    # a section has every core by pausing the others, never by more tokens), its own study
    # alone on the worker's tokens: it never waited for more than the moment of taking them.
    held = ok[["sampler", "batch_cores_held", "threads", "threads_needed"]]
    assert (ok["batch_cores_held"] == ok["threads"]).all(), held
    assert (ok["batch_cores_wait_seconds"] < 5).all()
    assert ok["contended"].isin([True, False]).all()
    assert (ok.loc[ok["contended"], "contention_reason"].str.len() > 0).all()
    primed = ok.groupby("sampler")["batch_prime_seconds"].max()
    assert primed["pymc_nuts"] == 0.0  # pays its own throw-away chain in every run
    assert primed["emcee"] > 0 and primed["exact"] > 0


def test_a_tagged_process_left_behind_is_found():
    """The tiny study's check can fail: a process that outlives its parent is found."""
    from conftest import JOB_TAG, tagged_processes

    tag = f"orphan-{os.getpid()}"
    env = {**os.environ, JOB_TAG: tag}
    # the shell starts a sleeper in the background and exits: the sleeper is orphaned
    subprocess.run(["sh", "-c", "sleep 30 >/dev/null 2>&1 &"], env=env, check=True)
    try:
        deadline = time.time() + 5
        while not (found := tagged_processes(tag)) and time.time() < deadline:
            time.sleep(0.1)
        assert len(found) == 1
    finally:
        for pid in tagged_processes(tag):
            os.kill(pid, 9)


def test_the_summary_names_every_run_timed_under_contention():
    import pandas as pd

    from essbench.report import contention_section

    rows = [
        {"sampler": "emcee", "target": "t", "dim": 2, "replicate": r, "neighbour_load": load}
        for r, load in enumerate((0.1, 1.6))
    ]
    for row in rows:
        row.update(threads=1, machine_cpus=2, study="laptop")
        row["contention_reason"] = policy.contention_reason(row)
        row["contended"] = bool(row["contention_reason"])
    text = contention_section(pd.DataFrame(rows))
    assert "1 of 2 runs were timed under contention" in text
    assert "emcee on t d=2 r1: timed under contention: other processes used 1.60 cores" in text
    assert "python -m essbench.redo results/laptop --contended --apply" in text
    calm = contention_section(pd.DataFrame(rows[:1]))
    assert "No run was timed under contention" in calm and "0.10 cores" in calm
    unknown = pd.DataFrame(rows[:1]).assign(neighbour_load=math.nan)
    assert "contention unknown" in contention_section(unknown)


def test_the_same_seed_draws_the_same_zeus_chains_anywhere_in_a_process():
    """zeus picks walker pairs with Python's random.sample: with only NumPy's generator
    seeded, the third run of a batch drew other chains than the first with the same seed."""
    from essbench.problem import build_problem

    zeus = registry.sampler("zeus")
    problem = build_problem("gaussian_iid", 4, {}, "numba")
    options = {**zeus.DEFAULTS, "burn": 20, "steps": 40}
    first = zeus.run(problem, options, 1).draws
    zeus.run(problem, options, 2)
    assert (zeus.run(problem, options, 1).draws == first).all()


def _hold(turns, cores, cpus, spans, name, held, release):
    with clock.Turn(turns, cores, cpus=cpus):
        spans.append((name, time.perf_counter()))
        held.set()
        release.wait(5)
        spans.append((f"{name} out", time.perf_counter()))


def test_a_job_waits_until_the_cores_it_needs_are_free(tmp_path):
    """On a 2-CPU machine, a job holding one token leaves one: a second one-core job takes
    it at once, a two-core job waits until the first lets go, and says how long it waited;
    no directory, no tokens."""
    import threading

    turns = str(tmp_path / "turns")
    for cores, waits in ((1, False), (2, True)):
        held, release, spans = threading.Event(), threading.Event(), []
        args = (turns, 1, 2, spans, "first", held, release)
        thread = threading.Thread(target=_hold, args=args)
        thread.start()
        assert held.wait(5)
        threading.Timer(0.3, release.set).start()
        with clock.Turn(turns, cores, cpus=2) as second:
            spans.append(("second", time.perf_counter()))
            assert second.cores == cores
        thread.join()
        names = [name for name, _ in spans]
        if waits:
            assert names == ["first", "first out", "second"]
            assert second.wait_seconds >= 0.25
        else:
            assert names == ["first", "second", "first out"]
            assert second.wait_seconds < 0.25
    with clock.Turn(turns, 5, cpus=2) as capped:  # never more than the machine has
        assert capped.cores == 2
    with clock.Turn(None, 2) as free:
        assert free.wait_seconds == 0.0 and free.cores == 0


def test_a_two_core_job_is_not_starved_by_one_core_jobs(tmp_path):
    """A two-core job gets its turn even while three one-core jobs keep both cores busy:
    the one at the head of the queue collects tokens as they free up, and later takers
    wait behind it."""
    import threading

    turns = str(tmp_path / "turns")
    stop, order = threading.Event(), []

    def one_core_runs(name):
        while not stop.is_set():
            with clock.Turn(turns, 1, cpus=2):
                order.append(name)
                time.sleep(0.02)

    workers = [threading.Thread(target=one_core_runs, args=(f"w{i}",)) for i in range(3)]
    for worker in workers:
        worker.start()
    time.sleep(0.1)
    start = time.perf_counter()
    with clock.Turn(turns, 2, cpus=2) as big:
        order.append("big")
        waited = time.perf_counter() - start
    stop.set()
    for worker in workers:
        worker.join()
    assert "big" in order and waited < 2.0
    assert big.wait_seconds == pytest.approx(waited, abs=0.05)
    assert order.index("big") > 0  # the one-core runs were sampling when it came


def test_a_job_waits_for_the_cores_another_studys_job_holds(tmp_path):
    """Two processes sharing the machine's tokens (two Snakemakes' jobs): while one holds
    every core, the other's start waits until it ends, and says how long it waited."""
    env = {**os.environ, clock.TURNS_ENV: str(tmp_path / "turns")}
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import time; from essbench import clock;"
            " clock.hold_job_cores(clock.machine_cpus()); print('held', flush=True);"
            " time.sleep(1.0)",
        ],
        env=env,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert holder.stdout.readline().strip() == "held"
    waiter = subprocess.run(
        [
            sys.executable,
            "-c",
            "from essbench import clock; print(clock.hold_job_cores(1).wait_seconds)",
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    holder.wait(10)
    assert waiter.returncode == 0, waiter.stderr
    assert float(waiter.stdout) >= 0.5
    off = subprocess.run(  # ESSBENCH_TURNS_DIR=off: no tokens, no wait
        [sys.executable, "-c", "from essbench import clock; print(clock.hold_job_cores(1).cores)"],
        env={**env, clock.TURNS_ENV: "off"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert off.stdout.strip() == "0"


def test_a_batch_holds_the_cores_its_runs_keep_busy_beyond_what_snakemake_granted(tmp_path):
    """stan_nuts's one chain keeps two cores busy (its chain and httpstan's reader): a job
    granted one (--cores 1) holds two tokens before its runs start; outside a workflow job
    (no tokens held) nothing is taken."""
    from essbench import pipeline

    todo = [{"settings": {"sampler": "stan_nuts", "sampler_options": {"chains": 1, "cores": 1}}}]
    assert math.isnan(pipeline._hold_busy_cores(todo)["batch_cores_held"])
    try:
        clock.hold_job_cores(1, directory=str(tmp_path / "turns"))
        held = pipeline._hold_busy_cores(todo)
        assert held["batch_cores_held"] == min(2, clock.machine_cpus())
        assert clock.job_turn().cores == held["batch_cores_held"]
        assert held["batch_cores_wait_seconds"] >= 0
        # Runs that keep more cores busy than the machine has: a job holding every token
        # keeps them (no letting go and queueing again for the same count).
        cpus = clock.machine_cpus()
        many = [
            {
                "settings": {
                    "sampler": "stan_nuts",
                    "sampler_options": {"chains": cpus, "cores": cpus},
                }
            }
        ]
        pipeline._hold_busy_cores(many)
        every = clock.job_turn()
        assert every.cores == cpus
        assert pipeline._hold_busy_cores(many)["batch_cores_held"] == cpus
        assert clock.job_turn() is every
    finally:
        clock.release_job_cores()
    assert clock.job_turn() is None


def test_sections_add_up_their_windows_and_their_neighbours(monkeypatch):
    """Two sections of 2 s and 1 s with an untimed second between them: the window is
    their 3 s, the neighbours' CPU seconds theirs, the load their quotient."""
    _fake_clocks(
        monkeypatch,
        [(100.0, 10.0), (103.0, 11.0), (200.0, 20.0), (201.0, 20.5)],
        [50.0, 52.0, 60.0, 61.0],
    )
    sections = clock.Sections()
    with sections.timed():
        pass
    with sections.timed():
        pass
    record = sections.record()
    assert record["timed_sections"] == 2 and record["exclusive_sampling"] is False
    assert record["neighbour_window_seconds"] == pytest.approx(3.0)
    assert record["neighbour_cpu_seconds"] == pytest.approx(2.0 + 0.5)
    assert record["neighbour_load"] == pytest.approx(2.5 / 3.0)
    assert record["sampling_cpu_seconds"] == pytest.approx(1.0 + 0.5)  # its own, not theirs
    assert record["sampling_window_start"] <= record["sampling_window_end"]
    assert record["exclusive_wait_seconds"] == 0.0


def test_no_section_means_no_load_not_a_zero_one():
    record = clock.Sections().record()
    assert record["timed_sections"] == 0 and math.isnan(record["neighbour_load"])


_HOLDER = """
import fcntl, sys, time
with open(sys.argv[1], "a") as lock:
    fcntl.flock(lock, fcntl.LOCK_EX)
    open(sys.argv[2], "w").close()
    time.sleep(float(sys.argv[3]))
"""


def test_a_section_waits_for_the_lock_outside_the_runs_budget(tmp_path):
    """Another run holds the machine's lock for 1.5 s: this run's section waits for it, and
    its wall-time budget of 1 s, paused while it waits, does not run out."""
    import signal

    from essbench.pipeline import wall_time_budget

    lock, ready = tmp_path / "sampling.lock", tmp_path / "ready"
    holder = subprocess.Popen([sys.executable, "-c", _HOLDER, str(lock), str(ready), "1.5"])
    try:
        deadline = time.monotonic() + 30
        while not ready.exists():
            assert time.monotonic() < deadline and holder.poll() is None
            time.sleep(0.01)
        sections = clock.Sections(str(lock))
        with wall_time_budget(1.0):
            with sections.timed():
                time.sleep(0.2)
            left = signal.getitimer(signal.ITIMER_REAL)[0]
        assert 0 < left <= 0.85  # the budget runs again after the wait, minus the section
    finally:
        holder.wait(timeout=30)
    record = sections.record()
    assert record["exclusive_sampling"] and record["exclusive_wait_seconds"] >= 1.0
    assert record["neighbour_window_seconds"] == pytest.approx(0.2, abs=0.15)


def test_a_budget_still_ends_a_section_that_overruns_it(tmp_path):
    from essbench.pipeline import RunBudgetExceeded, wall_time_budget

    sections = clock.Sections(str(tmp_path / "sampling.lock"))
    with pytest.raises(RunBudgetExceeded), wall_time_budget(0.3), sections.timed():
        time.sleep(2)
    # the lock was let go: a second section takes it at once
    with sections.timed():
        pass
    assert sections.record()["exclusive_wait_seconds"] < 0.5


def test_in_a_slurm_job_the_lock_is_that_jobs_own(monkeypatch):
    """The jobs bundled in one SLURM job share its cores and take turns; another SLURM job
    on the node has its own cores and its own lock."""
    monkeypatch.delenv(clock.SLURM_JOB_ENV, raising=False)
    local = clock.machine_lock()
    monkeypatch.setenv(clock.SLURM_JOB_ENV, "11")
    first = clock.exclusive_lock(True)
    monkeypatch.setenv(clock.SLURM_JOB_ENV, "12")
    assert len({local, first, clock.exclusive_lock(True)}) == 3 and "slurm11" in first


def test_runs_in_different_slurm_jobs_on_a_node_do_not_share_a_clock():
    a = {**_sampled("node1", (0, 10)), "slurm_job_id": "11"}
    b = {**_sampled("node1", (0, 10)), "slurm_job_id": "12"}
    c = {**_sampled("node1", (0, 10)), "slurm_job_id": "12"}  # bundled with b
    shares = [r["shared_clock_share"] for r in policy.mark_shared_clocks([a, b, c])]
    assert shares == [0.0, 1.0, 1.0]


@pytest.mark.parametrize(
    ("setting", "slurm", "locked", "pauses"),
    [
        (True, False, True, False),
        (True, True, True, False),
        (False, False, False, False),
        (False, True, False, False),
        ("auto", False, True, True),
        ("auto", True, False, False),
        ("strict", False, True, True),
        ("strict", True, True, True),
    ],
)
def test_exclusive_sampling_auto_is_strict_except_in_a_slurm_job(
    setting, slurm, locked, pauses, monkeypatch
):
    if slurm:
        monkeypatch.setenv(clock.SLURM_JOB_ENV, "4242")
    else:
        monkeypatch.delenv(clock.SLURM_JOB_ENV, raising=False)
    assert (clock.exclusive_lock(setting) == clock.machine_lock()) is locked
    assert locked or clock.exclusive_lock(setting) is None
    assert clock.pauses_others(setting) is pauses
    # A sample job whose runs keep 2 cores busy declares 1 thread where its sections pause
    # the others on a machine Snakemake runs it on itself; submitted to SLURM (not local),
    # the job is given the cores it declares, so it declares its sampler's.
    assert clock.job_threads(2, setting, local=True) == (1 if pauses else 2)
    assert clock.job_threads(2, setting, local=False) == 2


def test_shared_seconds_count_other_runs_sections_on_the_same_host_only():
    runs = [
        ("h", [(0.0, 10.0)]),
        ("h", [(5.0, 7.0), (8.0, 12.0)]),  # an ESS-goal run: two sections
        ("h", [(20.0, 21.0)]),  # alone
        ("g", [(0.0, 10.0)]),  # another node: shares nothing
        ("h", [(9.0, 9.5)]),  # inside two others at once: its 0.5 s, counted once
        ("h", [(12.0, 13.0)]),  # starts the instant the other ends: nothing shared
        ("h", []),  # no section (a failed run)
    ]
    assert clock.shared_seconds(runs) == pytest.approx([4.0, 4.0, 0.0, 0.0, 0.5, 0.0, 0.0])


def _sampled(host, *sections):
    return {
        "prov_hostname": host,
        "sampling_sections": json.dumps([list(s) for s in sections]),
        "contended": False,
        "contention_reason": "",
    }


def test_a_run_timed_beside_another_run_is_contended_and_one_timed_alone_is_not():
    """Both directions: runs that took turns (exclusive_sampling) share nothing and are not
    marked; two one-thread runs side by side (each within the load rule) are."""
    alone = [_sampled("h", (0, 1)), _sampled("h", (1, 2)), _sampled("h", (2, 3), (3.5, 4))]
    marked = policy.mark_shared_clocks(alone)
    assert [r["shared_clock_seconds"] for r in marked] == [0.0, 0.0, 0.0]
    assert not any(r["contended"] for r in marked)
    beside = [
        _sampled("h", (0, 10)),
        _sampled("h", (8, 18)),  # beside the first (8-10) and the next (15-17): 40%
        _sampled("h", (0, 2), (15, 17)),  # all 4 s beside another run
        {**_sampled("h", (30, 40)), "contended": True, "contention_reason": "load 1.4"},
        {  # a record from before sections: its one window
            "prov_hostname": "h",
            "sampling_window_start": 35.0,
            "sampling_window_end": 45.0,
        },
        _sampled("h", (50, 60)),  # 1 s of 10 beside the next: within the tolerance
        _sampled("h", (59, 69)),
    ]
    marked = policy.mark_shared_clocks(beside)
    shares = [round(r["shared_clock_share"], 2) for r in marked]
    assert shares == [0.4, 0.4, 1.0, 0.5, 0.5, 0.1, 0.1]
    assert [bool(r.get("contended")) for r in marked] == [True] * 5 + [False] * 2
    assert "beside another run's sampling for 40% of its clock" in marked[0]["contention_reason"]
    assert marked[3]["contention_reason"].startswith("load 1.4; timed beside another run")
    assert beside[0]["contended"] is False  # the records given are not changed
    assert policy.SHARED_CLOCK_TOLERANCE < 0.4


# Another job on the machine: holds the sampling lock (shared: untimed work; exclusive: a
# timed section) as exclusive_sampling: strict does, writes when it got it, holds it for
# argv[3] seconds, and writes the time just before it let go.
_GATE_HOLDER = """
import sys, time
from essbench import clock
lock, mode, hold, out = sys.argv[1], sys.argv[2], float(sys.argv[3]), sys.argv[4]
held = clock._flock_in_turn(lock, shared=mode == "shared")
open(out + ".got", "w").write(repr(time.time()))
time.sleep(hold)
letting_go = time.time()
held.close()
open(out + ".done", "w").write(repr(letting_go))
"""


def _gate_holder(tmp_path, lock, mode, hold, name):
    out = str(tmp_path / name)
    proc = subprocess.Popen([sys.executable, "-c", _GATE_HOLDER, lock, mode, str(hold), out])
    return proc, out


def _when(out, what, proc, timeout=60.0):
    deadline = time.monotonic() + timeout
    while not os.path.exists(f"{out}.{what}"):
        assert time.monotonic() < deadline and (proc.poll() is None or what == "done")
        time.sleep(0.01)
    time.sleep(0.01)
    return float(open(f"{out}.{what}").read())


@pytest.fixture
def strict_lock(tmp_path, monkeypatch):
    """The machine's sampling lock in a directory of the test's own; this process taken off
    the list of pausing jobs afterwards, if a test put it there."""
    (tmp_path / "turns").mkdir()
    monkeypatch.setenv(clock.TURNS_ENV, str(tmp_path / "turns"))
    monkeypatch.delenv(clock.SLURM_JOB_ENV, raising=False)
    yield clock.machine_lock()
    pause.unregister()


def _try_lock(lock: str, mode: str) -> bool:
    """Whether another process could take ``lock`` in ``mode`` right now."""
    code = (
        "import fcntl, sys\n"
        "f = open(sys.argv[1], 'a')\n"
        "try:\n"
        "    fcntl.flock(f, (fcntl.LOCK_SH if sys.argv[2] == 'shared' else fcntl.LOCK_EX)"
        " | fcntl.LOCK_NB)\n"
        "except BlockingIOError:\n"
        "    sys.exit(1)\n"
    )
    return subprocess.run([sys.executable, "-c", code, lock, mode]).returncode == 0


@pytest.mark.parametrize("setting", [True, False])
def test_only_auto_and_strict_list_a_job_for_sections_to_pause(setting, strict_lock):
    assert clock.hold_untimed_work(setting) == 0.0 and not pause.registered()
    assert pause.listed_jobs(strict_lock) == []
    assert clock.hold_untimed_work("strict") >= 0 and pause.registered()
    assert pause.listed_jobs(strict_lock) == [os.getpid()]
    assert _try_lock(strict_lock, "exclusive")  # listed, not holding it


# Another listed job on the machine: lists itself, starts a child, and both write the time
# every 5 ms (a job's untimed work: a compile, a child compiler) until argv[3] seconds pass.
_WORKER = """
import os, sys, time
from essbench import pause
lock, out, seconds = sys.argv[1], sys.argv[2], float(sys.argv[3])
pause.register(lock)
name = out + (".parent" if os.fork() else ".child")
end = time.time() + seconds
while time.time() < end:
    with open(name + ".tmp", "w") as f:
        f.write(repr(time.time()))
    os.replace(name + ".tmp", name)
    time.sleep(0.005)
open(name + ".done", "w").write("")
"""


class _Detached:
    """A process started through a shell that leaves it behind (not this process's
    descendant, as no job is another's: a section spares its own descendants)."""

    def __init__(self, args):
        command = " ".join(f"'{a}'" for a in args)
        shell = subprocess.run(
            ["/bin/sh", "-c", f"{command} >/dev/null 2>&1 & echo $!"],
            capture_output=True,
            text=True,
            check=True,
        )
        self.pid = int(shell.stdout)

    def poll(self):
        return None if pause._identity(self.pid) is not None else 0  # alive, not a zombie

    def wait(self, timeout):
        deadline = time.monotonic() + timeout
        while self.poll() is None:
            assert time.monotonic() < deadline, f"{self.pid} still runs"
            time.sleep(0.01)


def _worker(tmp_path, lock, seconds, name="worker"):
    out = str(tmp_path / name)
    proc = _Detached([sys.executable, "-c", _WORKER, lock, out, str(seconds)])
    deadline = time.monotonic() + 60
    while not all(os.path.exists(f"{out}.{who}") for who in ("parent", "child")):
        assert time.monotonic() < deadline and proc.poll() is None
        time.sleep(0.01)
    return proc, out


def _beat(out, who) -> float:
    return float(Path(f"{out}.{who}").read_text())


def test_strict_a_section_pauses_other_jobs_work_and_what_they_started(tmp_path, strict_lock):
    """A listed job and its child write the time every 5 ms: a section of this (listed)
    job starts at once, neither writes while it runs, both go on after it; the run's
    record says it was strict and paused one job."""
    proc, out = _worker(tmp_path, strict_lock, 3.0)
    try:
        clock.hold_untimed_work("strict")
        sections = clock.Sections(clock.exclusive_lock("strict"))
        with sections.timed():
            began = time.time()
            time.sleep(0.5)
            during = {who: _beat(out, who) for who in ("parent", "child")}
            ended = time.time()
        assert all(beat < began for beat in during.values()), (began, during)
        time.sleep(0.3)
        assert all(_beat(out, who) > ended for who in ("parent", "child"))  # going on
        record = sections.record()
        assert record["strict_sampling"] is True and record["paused_jobs"] == 1
        assert record["exclusive_wait_seconds"] < 0.5  # it did not wait for their work
    finally:
        proc.wait(timeout=60)
    assert os.path.exists(f"{out}.parent.done") and os.path.exists(f"{out}.child.done")


def test_a_section_of_a_job_not_listed_pauses_nothing(tmp_path, strict_lock):
    """exclusive_sampling: true (or auto in a SLURM job): sections take turns but pause no
    one."""
    proc, out = _worker(tmp_path, strict_lock, 2.0)
    try:
        sections = clock.Sections(strict_lock)
        with sections.timed():
            began = time.time()
            time.sleep(0.3)
            beat = _beat(out, "parent")
        assert beat > began
        assert sections.record()["strict_sampling"] is False
    finally:
        proc.wait(timeout=60)


def test_strict_a_job_that_starts_waits_for_a_section_in_progress(tmp_path, strict_lock):
    proc, out = _gate_holder(tmp_path, strict_lock, "exclusive", 1.0, "section")
    try:
        _when(out, "got", proc)
        waited = clock.hold_untimed_work("strict")
        assert time.time() >= _when(out, "done", proc) and waited > 0.5
    finally:
        proc.wait(timeout=60)


# A listed job that pauses the others in a section and dies in it (killed, out of memory).
_DIES_IN_SECTION = """
import os, sys, time
from essbench import clock, pause
lock = sys.argv[1]
pause.register(lock)
sections = clock.Sections(lock)
with sections.timed():
    open(sys.argv[2], "w").write(repr(time.time()))
    time.sleep(0.5)
    os.kill(os.getpid(), 9)
"""


def test_jobs_paused_by_a_process_that_dies_in_its_section_go_on(tmp_path, strict_lock):
    proc, out = _worker(tmp_path, strict_lock, 4.0)
    dying = subprocess.run(
        [sys.executable, "-c", _DIES_IN_SECTION, strict_lock, str(tmp_path / "died")],
        timeout=60,
    )
    assert dying.returncode == -9
    began = float((tmp_path / "died").read_text())
    try:
        time.sleep(0.5)
        assert all(_beat(out, who) > began + 0.5 for who in ("parent", "child"))
    finally:
        proc.wait(timeout=60)
    assert pause.listed_jobs(strict_lock) == []  # both gone: their entries dropped


# A listed job whose run has a wall-time budget of 1 s and works 1.4 s of wall time, while
# another job's section pauses it for argv[3] seconds of that.
_BUDGETED = """
import sys, time
from essbench import pause
from essbench.pipeline import RunBudgetExceeded, wall_time_budget
lock, out = sys.argv[1], sys.argv[2]
pause.register(lock)
open(out + ".ready", "w").write("")
try:
    with wall_time_budget(1.0):
        end = time.time() + 1.4
        while time.time() < end:
            time.sleep(0.01)
    result = "within"
except RunBudgetExceeded:
    result = "exceeded"
open(out, "w").write(result + " " + repr(pause.paused_seconds(0.0)))
"""


@pytest.mark.parametrize("pause_for, result", [(0.0, "exceeded"), (0.8, "within")])
def test_a_runs_budget_does_not_count_the_time_its_job_was_paused(
    tmp_path, strict_lock, pause_for, result
):
    out = str(tmp_path / "budgeted")
    proc = _Detached([sys.executable, "-c", _BUDGETED, strict_lock, out])
    try:
        while not os.path.exists(out + ".ready"):
            assert proc.poll() is None
            time.sleep(0.01)
        if pause_for:
            clock.hold_untimed_work("strict")
            with clock.Sections(strict_lock).timed():
                time.sleep(pause_for)
    finally:
        proc.wait(timeout=60)
    got, paused = Path(out).read_text().split()
    assert got == result and float(paused) == pytest.approx(pause_for, abs=0.2)


def test_paused_seconds_counts_the_pauses_in_a_window(tmp_path, strict_lock):
    clock.hold_untimed_work("strict")
    log = pause.jobs_dir(strict_lock) / f"{os.getpid()}.paused"
    log.write_text("100.0 102.0\n110.0 111.5\n")
    assert pause.paused_seconds(0.0, 200.0) == pytest.approx(3.5)
    assert pause.paused_seconds(101.0, 111.0) == pytest.approx(2.0)
    assert pause.paused_seconds(103.0, 109.0) == 0.0
    pause.unregister()
    assert pause.paused_seconds(0.0, 200.0) == 0.0 and not log.exists()


def test_a_stale_entry_is_dropped(strict_lock):
    directory = pause.jobs_dir(strict_lock)
    directory.mkdir(parents=True)
    (directory / str(os.getpid())).write_text("1\n")  # this pid, another process's start
    (directory / "999999999").write_text("5\n")  # no such process
    assert pause.listed_jobs(strict_lock) == []
    assert list(directory.iterdir()) == []


def test_strict_a_waiting_section_is_not_starved_by_untimed_work_that_comes_later(
    tmp_path, strict_lock
):
    """A job's untimed work holds the lock; a section comes and waits; untimed work that
    comes after the section waits for it to end (the turnstile), not the other way round."""
    first, first_out = _gate_holder(tmp_path, strict_lock, "shared", 1.5, "first")
    section = later = None
    try:
        _when(first_out, "got", first)
        section, section_out = _gate_holder(tmp_path, strict_lock, "exclusive", 0.5, "section")
        time.sleep(0.5)  # the section is waiting for the first holder now
        later, later_out = _gate_holder(tmp_path, strict_lock, "shared", 0.0, "later")
        assert _when(later_out, "got", later) >= _when(section_out, "done", section)
        assert _when(section_out, "got", section) >= _when(first_out, "done", first)
    finally:
        for proc in (first, section, later):
            if proc is not None:
                proc.wait(timeout=60)


def test_the_report_says_whether_untimed_work_ran_beside_the_runs_that_took_turns():
    from essbench.report import turns_text

    took = pd.DataFrame({"exclusive_sampling": [True, True], "exclusive_wait_seconds": [0.5, 1.5]})
    assert "could run beside them" in turns_text(took)
    strict = took.assign(strict_sampling=[True, True])
    assert (
        "No other essbench work ran beside them: each of their timed sections paused"
        in turns_text(strict)
    )
    assert "could run beside them" in turns_text(took.assign(strict_sampling=[True, False]))


def _forked_sleeper(seconds: float) -> int:
    """A forked child (as httpstan's chain processes and a process pool's workers are) that
    lives on for ``seconds``; its pid."""
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child
        time.sleep(seconds)
        os._exit(0)
    return pid


def test_a_forked_child_does_not_keep_the_jobs_locks(tmp_path, strict_lock):
    """A child forked while a section holds the lock exclusive (httpstan's chain processes,
    a process pool's workers) lives on: the lock is free once the section ends (before:
    the job's next section waited for its own child's copy, for ever), and the child is
    not a listed job of its own."""
    clock.hold_untimed_work("strict")
    children = []
    try:
        sections = clock.Sections(strict_lock)
        with sections.timed():
            children.append(_forked_sleeper(5.0))
        assert _try_lock(strict_lock, "exclusive")  # the child holds no copy
        assert pause.listed_jobs(strict_lock) == [os.getpid()]
    finally:
        for pid in children:
            os.kill(pid, 9)
            os.waitpid(pid, 0)
