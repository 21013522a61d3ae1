"""Does a run's sampling time depend on what runs beside it? (issue 27: fair clocks)

Runs the same study (default ``benchmarks/configs/clocks.yaml``: every Markov-chain sampler
on the tutorial's target, two replicates) through the real workflow in three ways,
alternating their order over ``--repeats``:

- ``cores1``: ``snakemake --cores 1`` (one job at a time: nothing runs beside a run);
- ``cores2``: ``snakemake --cores 2`` (Snakemake fills both cores with the study's own jobs);
- ``mix``: ``snakemake --cores 1`` while a second Snakemake runs the default study
  (``config/config.yaml``: compiles, ESS-goal batches, reports) with ``--cores 1`` in another
  directory: the full mix of jobs beside every run;
- ``again``: ``snakemake --cores 1`` once more, the null comparison: how far a median ratio
  strays when only the time differs (the machine's own drift). A ratio of the other ways
  shows a neighbour effect only where it strays further than this one.

The model compile caches are warmed first and kept; each way's runs are done afresh. Prints,
per sampler, the median over replicates and repeats of each run's sampling seconds
relative to the same run under ``cores1`` (target 0.9 to 1.1), and how many runs each way
recorded as timed under contention (``contended``, see ``essbench.policy``), and the cores
each sampler kept busy in its timed sections under ``cores1`` (its own CPU seconds per
second: a declared thread count that is true reads as that many).

Every job holds a core token per core it keeps busy (``essbench.clock.Turn``), so in ``mix``
the two studies never run more busy jobs than the machine has CPUs (``stan_nuts``'s chain and
reader, two cores under its study's ``--cores 1``, beside the default study's job: 1.49-1.71x
as slow, every run flagged, before the tokens). Both studies run with the config's
``exclusive_sampling`` (``auto`` by default: off the cluster, each timed section samples
alone, ``essbench.clock.Sections``, one lock for the machine, and pauses every other job,
``essbench.pause``), so under ``--cores 2`` the batches run side by side but no work of
theirs runs beside a clock; ``--exclusive-sampling true`` takes turns without pausing the
other jobs' untimed work, ``false`` measures without either (two one-thread runs then sample
side by side: nutpie 1.48x as slow under ``--cores 2`` on 2026-12-05).

    .venv/bin/python benchmarks/neighbours.py [--repeats 2] [--config FILE] [--sampler NAME ...]
        [--exclusive-sampling auto|true|false|strict] [--scale K] [--replicates N] [--save CSV]
"""

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pandas as pd
import yaml
from overhead import job_times

REPO = Path(__file__).resolve().parents[1]
SNAKEMAKE = str(Path(sys.executable).parent / "snakemake")
# "again" last: as far from "cores1" in time as any other way (the orders alternate)
WAYS = ("cores1", "cores2", "mix", "again")
# what --save keeps of each run: its clock, what it used, and what ran beside it
COLUMNS = (
    "sampler",
    "replicate",
    "sampling_seconds",
    "sampling_cpu_seconds",
    "contended",
    "neighbour_load",
    "neighbour_cpu_seconds",
    "exclusive_sampling",
    "exclusive_wait_seconds",
    "strict_sampling",
    "paused_jobs",
    "paused_seconds",
    "neighbour_window_seconds",
    "sampling_window_start",
    "sampling_window_end",
)


def _snakemake(workdir: Path, config: Path, cores: int) -> subprocess.Popen:
    env = dict(os.environ)
    env.pop("PYTENSOR_FLAGS", None)
    return subprocess.Popen(
        [SNAKEMAKE, "--snakefile", str(REPO / "Snakefile"), "--cores", str(cores)]
        + ["--configfile", str(config), "--quiet", "all"],
        cwd=workdir,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )


def _wait(proc: subprocess.Popen, what: str) -> None:
    _, err = proc.communicate()
    if proc.returncode:
        raise SystemExit(f"{what} failed ({proc.returncode}):\n{err[-3000:]}")


def _fresh(workdir: Path, study: str) -> None:
    """Forget a study's runs and tables; keep the shared compile caches."""
    shutil.rmtree(workdir / "results" / study, ignore_errors=True)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--config", default=str(REPO / "benchmarks" / "configs" / "clocks.yaml"))
    parser.add_argument("--sampler", action="append", help="only this sampler (repeatable)")
    parser.add_argument(
        "--exclusive-sampling",
        choices=("auto", "true", "false", "strict"),
        default=None,
        help="both studies' exclusive_sampling (default: the configs' own, auto unless set)",
    )
    parser.add_argument(
        "--scale",
        type=int,
        default=1,
        help="every sampler K times as long (its length option): runs of tens of"
        " milliseconds scatter by ±20%% between invocations",
    )
    parser.add_argument(
        "--replicates", type=int, default=None, help="replicates per cell (the config's)"
    )
    parser.add_argument(
        "--save", default=None, help="also write every run's clock and load columns (CSV)"
    )
    args = parser.parse_args(argv)
    if args.repeats < 1:
        parser.error("--repeats must be at least 1")
    if args.scale < 1:
        parser.error("--scale must be an integer >= 1")
    raw = yaml.safe_load(Path(args.config).read_text())
    exclusive = {"auto": "auto", "true": True, "false": False, "strict": "strict"}.get(
        args.exclusive_sampling
    )
    if exclusive is not None:
        raw["exclusive_sampling"] = exclusive
    if args.replicates:
        raw["replicates"] = list(range(args.replicates))
    if args.scale > 1:
        from essbench import config as ebconfig
        from essbench import registry

        for name in raw["samplers"]:
            key = registry.sampler(name).LENGTH_OPTION
            length = int(ebconfig.sampler_options(ebconfig.validate(dict(raw)), name)[key])
            raw["samplers"][name] = {**(raw["samplers"][name] or {}), key: length * args.scale}
    if args.sampler:
        unknown = set(args.sampler) - set(raw["samplers"])
        if unknown:
            parser.error(f"not a sampler of {args.config}: {', '.join(sorted(unknown))}")
        raw["samplers"] = {k: v for k, v in raw["samplers"].items() if k in args.sampler}
    work = Path(tempfile.mkdtemp(prefix="essbench-neighbours-"))
    config = work / "study.yaml"
    config.write_text(yaml.safe_dump(raw))
    study = raw["study"]
    main_dir, mix_dir = work / "study", work / "mix"
    main_dir.mkdir()
    mix_dir.mkdir()
    default_config = REPO / "config" / "config.yaml"
    if exclusive is not None:  # the neighbouring study with the same setting
        default_raw = yaml.safe_load(default_config.read_text())
        default_config = work / "default.yaml"
        default_config.write_text(yaml.safe_dump({**default_raw, "exclusive_sampling": exclusive}))
    default_study = yaml.safe_load(default_config.read_text())["study"]
    # Warm the compile caches (models, Stan programs, PyTensor) of both directories.
    warm = [_snakemake(main_dir, config, 2), _snakemake(mix_dir, default_config, 2)]
    for proc, what in zip(warm, ("warming the study", "warming the default study"), strict=True):
        _wait(proc, what)
    frames, neighbour_jobs = [], []
    for repeat in range(args.repeats):
        ways = WAYS if repeat % 2 == 0 else WAYS[::-1]
        for way in ways:
            _fresh(main_dir, study)
            neighbour = None
            if way == "mix":
                _fresh(mix_dir, default_study)
                neighbour = _snakemake(mix_dir, default_config, 1)
            _wait(_snakemake(main_dir, config, 2 if way == "cores2" else 1), f"{way} study")
            if neighbour is not None:
                neighbour.kill()  # it may outlast the study: its job is to be beside it
                neighbour.wait()
                if args.save:  # what the second study ran meanwhile (its finished jobs)
                    jobs = job_times(mix_dir)
                    neighbour_jobs.append(jobs.drop(columns="inputs").assign(repeat=repeat))
            runs = pd.read_parquet(main_dir / "results" / study / "tables" / "runs.parquet")
            runs = runs[runs["status"] == "ok"]
            frames.append(runs[[c for c in COLUMNS if c in runs]].assign(way=way, repeat=repeat))
            print(f"repeat {repeat} {way}: {len(runs)} runs", flush=True)
    table = pd.concat(frames)
    if args.save:
        table.to_csv(args.save, index=False)
        if neighbour_jobs:
            pd.concat(neighbour_jobs).to_csv(Path(args.save).with_suffix(".mix_jobs.csv"))
    wide = table.pivot_table(
        index=["sampler", "replicate", "repeat"], columns="way", values="sampling_seconds"
    )
    rows = []
    for sampler, group in wide.groupby(level="sampler", sort=False):
        row = {"sampler": sampler, "cores1_s": group["cores1"].median()}
        for way in WAYS[1:]:
            ratios = group[way] / group["cores1"]
            row[f"{way}/cores1"] = ratios.median()
            # the spread of the per-run ratios: how far one median can be from another
            row[f"{way} q25-q75"] = f"{ratios.quantile(0.25):.2f}-{ratios.quantile(0.75):.2f}"
        for way in WAYS:
            subset = table[(table["sampler"] == sampler) & (table["way"] == way)]
            row[f"contended_{way}"] = f"{int(subset['contended'].sum())}/{len(subset)}"
        alone = table[(table["sampler"] == sampler) & (table["way"] == "cores1")]
        if "sampling_cpu_seconds" in alone:  # the cores it kept busy while sampling alone
            cores = alone["sampling_cpu_seconds"] / alone["neighbour_window_seconds"]
            row["cores used"] = cores.median()
        row["within 0.9-1.1"] = all(0.9 <= row[f"{w}/cores1"] <= 1.1 for w in ("cores2", "mix"))
        rows.append(row)
    out = pd.DataFrame(rows)
    with pd.option_context("display.width", 200, "display.max_columns", 20):
        print(out.round(3).to_string(index=False))
    took = table["exclusive_sampling"].fillna(False).astype(bool)
    print(f"runs that sampled alone (exclusive_sampling): {int(took.sum())} of {len(table)}")
    load = table.groupby("way")["neighbour_load"].median()
    print("median neighbour load (cores):", ", ".join(f"{w} {load[w]:.2f}" for w in WAYS))
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
