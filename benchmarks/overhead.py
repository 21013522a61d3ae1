"""How much of the machine does a study spend sampling? (issue 13: start-up overhead)

Runs a study (``config/config.yaml`` unless ``--configfile``) from scratch in a temporary
directory with ``snakemake --cores N`` and prints

    overhead = wall seconds x cores / sum over runs of (sampling seconds x cores busy)

with its parts in core-seconds: sampling, the discarded attempts of ESS-goal runs that
restart, model build, sampler compile, each batch's throw-away run (``essbench.clock``),
a ``pm.sample`` call's time outside PyMC's loop (its clock since c96c483; the ratio is also
printed with the whole call as the clock, as measured before), the waits for
``exclusive_sampling``'s lock, diagnose, the start-up of the processes that ran the runs
(interpreter, imports, reading settings: job time not spent in any of the above),
the other rules (compile, reference, aggregate, figures, reports: their whole job time)
and Snakemake itself (the wall time x cores that no job used: DAG building, scheduling,
idle cores). Job times are Snakemake's own records (``.snakemake/metadata``: start and
end of every job), so the script measures the layout of any essbench revision, the one
before batching included (``--snakefile`` of a worktree).

    .venv/bin/python benchmarks/overhead.py [--configfile C] [--cores 2] [--snakefile S]
"""

import argparse
import base64
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd
import yaml

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
SAMPLING_RULES = {"sample", "diagnose", "batch"}


def job_times(workdir: Path) -> pd.DataFrame:
    """One row per job: rule, start, end (Snakemake's metadata of every output file)."""
    rows = []
    for path in (workdir / ".snakemake" / "metadata").iterdir():
        try:
            record = json.loads(path.read_text())
        except (ValueError, OSError):
            continue
        output = base64.urlsafe_b64decode(path.name.encode()).decode(errors="replace")
        rows.append(
            {
                "rule": record.get("rule"),
                "start": record.get("starttime"),
                "end": record.get("endtime"),
                "output": output,
                "inputs": tuple(record.get("input") or ()),
            }
        )
    df = pd.DataFrame(rows).dropna(subset=["start", "end"])
    # A job with several outputs has one record per output, all with the job's end time.
    return (
        df.sort_values("output")
        .groupby(["rule", "end"], as_index=False)
        .agg(
            start=("start", "min"),
            output=("output", "first"),
            outputs=("output", tuple),
            inputs=("inputs", "first"),
        )
    )


def study_jobs(jobs: pd.DataFrame, study: str) -> pd.DataFrame:
    """The jobs of one study in a directory that may hold others: those writing under
    ``results/<study>/`` and the shared jobs (compile, reference, ...) they read from,
    however indirectly. A layout without study folders (before issue 13) keeps every job."""
    prefix = f"results/{study}/"
    mine = jobs["output"].str.startswith(prefix)
    if not mine.any():
        return jobs
    producer = {out: i for i, outs in jobs["outputs"].items() for out in outs}
    keep, todo = set(jobs.index[mine]), list(jobs.index[mine])
    while todo:
        for path in jobs.at[todo.pop(), "inputs"]:
            i = producer.get(path)
            if i is not None and i not in keep:
                keep.add(i)
                todo.append(i)
    return jobs.loc[sorted(keep)]


def job_threads(job, threads_by_sampler: dict) -> int:
    """Cores a job held: a run job the threads Snakemake granted its runs (read off its
    output path; one where its sections pause the others, ``essbench.clock.job_threads``),
    the reference rule 2, every other rule 1 (as the rules declare)."""
    if job.rule in SAMPLING_RULES:
        parts = Path(job.output).parts
        for name in parts[::-1]:
            if name in threads_by_sampler:
                return threads_by_sampler[name] if job.rule != "diagnose" else 1
    return 2 if job.rule == "reference" else 1


def _core_seconds(
    ok: pd.DataFrame, column: str, less: str | None = None, busy: bool = False
) -> float:
    """Core-seconds of a per-run column (less another, at least 0): the sum over runs of
    seconds x the run's threads (Snakemake's grant: the table's parts add up to the
    machine's core-seconds), or with ``busy`` x the cores it kept busy (its sampler's
    threads where more: a job whose sections pause the others declares one thread,
    ``essbench.clock.job_threads``); 0 where the runs table has no such column."""
    if column not in ok:
        return 0.0
    seconds = ok[column] if less is None else (ok[column] - ok[less]).clip(lower=0)
    cores = ok["threads"].astype(float)
    if busy and "threads_needed" in ok:
        cores = cores.combine(ok["threads_needed"].astype(float), max)
    return float((seconds.fillna(0) * cores).sum())


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--configfile", default=str(REPO / "config" / "config.yaml"))
    parser.add_argument("--snakefile", default=str(REPO / "Snakefile"))
    parser.add_argument("--cores", type=int, default=2)
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory")
    parser.add_argument(
        "--workdir",
        help="analyse a finished run of the study in this directory (give --wall) instead;"
        " other studies' jobs there are left out",
    )
    parser.add_argument("--wall", type=float, help="wall seconds of that run")
    args = parser.parse_args(argv)
    # Snakemake runs in a temporary directory: a path relative to here must still work there.
    args.configfile = str(Path(args.configfile).resolve())
    args.snakefile = str(Path(args.snakefile).resolve())

    if args.workdir:
        workdir, wall = Path(args.workdir), float(args.wall)
    else:
        workdir = Path(tempfile.mkdtemp(prefix="essbench-overhead-"))
        env = dict(os.environ)
        env.pop("PYTENSOR_FLAGS", None)
        start = time.perf_counter()
        subprocess.run(
            [
                str(BIN / "snakemake"),
                "--snakefile",
                args.snakefile,
                "--configfile",
                args.configfile,
                "--cores",
                str(args.cores),
                "--quiet",
            ],
            cwd=workdir,
            check=True,
            env=env,
        )
        wall = time.perf_counter() - start
    study = (yaml.safe_load(Path(args.configfile).read_text()) or {}).get("study", "")
    own = workdir / "results" / study / "tables" / "runs.parquet"
    table = own if study and own.exists() else min((workdir / "results").rglob("runs.parquet"))
    runs = pd.read_parquet(table)
    ok = runs[runs["status"] == "ok"]
    sampling = _core_seconds(ok, "sampling_seconds")
    # The ratio's denominator: each run's sampling x the cores it kept busy.
    sampling_busy = _core_seconds(ok, "sampling_seconds", busy=True)
    build = _core_seconds(ok, "build_seconds")
    sampler_compile = _core_seconds(ok, "compile_seconds")
    # An ESS-goal run that restarts (one pm.sample per attempt) keeps only its last attempt's
    # draws and sampling seconds; the attempts before it were sampled too, and are counted
    # apart (not as start-up, not in the ratio's denominator).
    discarded = _core_seconds(ok, "time_to_goal_seconds", less="sampling_seconds")
    # Each model's throw-away run in a batch (essbench.clock.prime), paid once before its
    # first clock: every run of the model in the batch carries it, so it is counted once per
    # (model, batch).
    primes = 0.0
    if "batch_prime_seconds" in ok:  # a layout before batches has neither column
        batches = ok.drop_duplicates(["sampler", "target", "dim", "batch_started_at"])
        primes = _core_seconds(batches, "batch_prime_seconds")
    # A pm.sample run's clock is PyMC's sampling_time (its loop); the rest of its last call
    # (building the step method, initial points, InferenceData) is stat_sample_call_seconds
    # less that. Up to c96c483 the whole call was the clock: printed apart, so that the ratio
    # can also be read as it was measured then.
    call_rest = _core_seconds(ok, "stat_sample_call_seconds", less="sampling_seconds")
    call_rest_busy = _core_seconds(
        ok, "stat_sample_call_seconds", less="sampling_seconds", busy=True
    )
    # exclusive_sampling: a run job's cores idle while its run waits for the lock.
    waiting = _core_seconds(ok, "exclusive_wait_seconds")
    # exclusive_sampling: strict: a run job paused by other runs' sections (essbench.pause);
    # inside the parts it fell in (a compile, a diagnosis), printed apart below.
    paused = _core_seconds(ok, "paused_seconds")
    diagnose = float(ok["diagnose_seconds"].fillna(0).sum())
    if "ess_goal_check_seconds" in ok:
        diagnose += float(ok["ess_goal_check_seconds"].fillna(0).sum())
    jobs = study_jobs(job_times(workdir), study)
    threads_by_sampler = runs.groupby("sampler")["threads"].max().astype(int).to_dict()
    jobs["cores"] = [job_threads(j, threads_by_sampler) for j in jobs.itertuples()]
    jobs["core_seconds"] = (jobs["end"] - jobs["start"]) * jobs["cores"]
    per_rule = jobs.groupby("rule")["core_seconds"].agg(["count", "sum"])
    run_job_core = float(per_rule.loc[per_rule.index.isin(SAMPLING_RULES), "sum"].sum())
    other = {
        rule: float(row["sum"]) for rule, row in per_rule.iterrows() if rule not in SAMPLING_RULES
    }
    parts_in_run_jobs = (sampling, discarded, primes, build, sampler_compile, diagnose)
    startup = max(0.0, run_job_core - sum(parts_in_run_jobs) - call_rest - waiting)
    machine = wall * args.cores
    used = run_job_core + sum(other.values())
    snakemake_share = max(0.0, machine - used)
    print(f"study: {args.configfile}  runs: {len(runs)}  jobs: {int(per_rule['count'].sum())}")
    print(f"wall seconds: {wall:.1f} on {args.cores} cores = {machine:.1f} core-seconds")
    print("part                         core-seconds  share")
    parts = {
        "sampling": sampling,
        "discarded ESS-goal attempts": discarded,
        "model build (in run jobs)": build,
        "sampler compile": sampler_compile,
        "throw-away runs (batch prime)": primes,
        "pm.sample outside its loop": call_rest,
        "waiting for exclusive sampling": waiting,
        "diagnose": diagnose,
        "start-up of run jobs": startup,
        **{f"rule {rule}": s for rule, s in sorted(other.items())},
        "Snakemake and idle cores": snakemake_share,
    }
    for name, value in parts.items():
        print(f"{name:<30} {value:>12.1f}  {value / machine:>5.1%}")
    if paused:
        print(f"of these, run jobs paused by other runs' sections (strict): {paused:.1f}")
    print("jobs per rule: " + ", ".join(f"{r}={int(c)}" for r, c in per_rule["count"].items()))
    if sampling_busy > sampling + 0.05:
        print(
            f"sampling x the cores its runs kept busy: {sampling_busy:.1f} core-seconds (the"
            " table counts each job's declared threads; a section has every core by pausing)"
        )
    print(f"overhead = wall x cores / sum(sampling x cores busy) = {machine / sampling_busy:.2f}")
    if call_rest:
        print(
            "overhead with a pm.sample run's whole call as its sampling (the clock up to"
            f" c96c483) = {machine / (sampling_busy + call_rest_busy):.2f}"
        )
    if not args.keep and not args.workdir:
        subprocess.run(["rm", "-rf", str(workdir)], check=False)
    else:
        print(f"kept: {workdir}")


if __name__ == "__main__":
    main()
