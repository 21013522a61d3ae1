"""Static checks of the workflow and a real run of the tiny study in a temporary directory."""

import json
import math
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import yaml
from conftest import REPO, SNAKEMAKE, snakemake

from essbench import clock, pause, policy, registry
from essbench import config as ebconfig

# Every shipped study: config/ and the worked example of "Benchmark your own model".
CONFIGS = sorted((REPO / "config").rglob("*.yaml")) + sorted((REPO / "examples").glob("*.yaml"))
BIN = Path(sys.executable).parent


def test_snakemake_lint_is_clean(tmp_path):
    proc = subprocess.run(
        [SNAKEMAKE, "--lint"], cwd=REPO, capture_output=True, text=True, timeout=300
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_snakefmt_is_clean():
    snakefmt = shutil.which("snakefmt", path=str(BIN)) or shutil.which("snakefmt")
    proc = subprocess.run([snakefmt, "--check", "."], cwd=REPO, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_ruff_is_clean():
    ruff = shutil.which("ruff", path=str(BIN)) or shutil.which("ruff")
    proc = subprocess.run([ruff, "check", "."], cwd=REPO, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr


@pytest.fixture(scope="module")
def dry_runs(tmp_path_factory):
    """`snakemake -n` of every shipped config, two at a time (each is ~10 s of start-up)."""
    from concurrent.futures import ThreadPoolExecutor

    def dry_run(config):
        folder = tmp_path_factory.mktemp(config.stem)
        return snakemake("-n", "--configfile", str(config), cwd=folder, timeout=300)

    with ThreadPoolExecutor(2) as pool:
        return dict(zip(CONFIGS, pool.map(dry_run, CONFIGS), strict=True))


def test_a_configfile_replaces_the_default_study_in_the_repo(tmp_path):
    """Where config/config.yaml exists (the repo, where users run), --configfile must not
    merge the default study's targets and samplers into another study. Planned in a folder
    laid out like the checkout (its config/) but with no results/: the checkout's own
    results (the README's commands run there) would leave nothing to plan."""
    shutil.copytree(REPO / "config", tmp_path / "config")
    config = tmp_path / "config" / "tutorial.yaml"
    proc = snakemake("-n", "--configfile", str(config), cwd=tmp_path, timeout=300)
    study = ebconfig.validate(yaml.safe_load(config.read_text()))
    planned = set(re.findall(r"output: results/tutorial/batches/(\w+)/([\w-]+)\.json", proc.stdout))
    assert planned == {(b.sampler, b.label) for b in ebconfig.batches(study)}, planned


@pytest.mark.parametrize("config", CONFIGS, ids=lambda p: str(p.relative_to(REPO)))
def test_dry_run_of_every_shipped_config(config, dry_runs):
    proc = dry_runs[config]
    assert "sample" in proc.stdout and "aggregate" in proc.stdout
    # One sample job per batch of the study, as the config expands it.
    study = ebconfig.validate(yaml.safe_load(config.read_text()))
    rows = [line.split() for line in proc.stdout.splitlines()]
    counts = {r[0]: int(r[1]) for r in rows if len(r) == 2 and r[1].isdigit()}
    assert counts["sample"] == len(ebconfig.batches(study))
    assert sum(len(b.runs) for b in ebconfig.batches(study)) == len(ebconfig.runs(study))


def test_reference_jobs_ask_for_their_targets_runtime(dry_runs):
    """The reference rule's SLURM runtime is the target's ``REFERENCE_MINUTES`` (accel_gp's
    reference runs longer than the shared two hours)."""
    proc = dry_runs[REPO / "config" / "posteriordb.yaml"]
    jobs = re.findall(
        r"rule reference:.*?wildcards: target=(\w+),.*?runtime=(\d+)", proc.stdout, re.S
    )
    asked = {target: int(minutes) for target, minutes in jobs}
    assert "accel_gp" in asked, proc.stdout[-2000:]
    assert asked == {t: registry.target(t).REFERENCE_MINUTES for t in asked}
    assert asked["accel_gp"] > 120


@pytest.mark.workflow
def test_tiny_study_end_to_end(tiny_run):
    config = REPO / "config" / "test" / "tiny.yaml"
    tmp_path = tiny_run.attrs["workdir"]
    results = tmp_path / "results" / "tiny"
    runs = pd.read_parquet(results / "tables" / "runs.parquet")
    csv = pd.read_csv(results / "tables" / "runs.csv")
    study = ebconfig.validate(yaml.safe_load(config.read_text()))
    cells = {(r.sampler, r.target, r.dim) for r in ebconfig.runs(study)}
    assert len(runs) == len(csv) == len(ebconfig.runs(study))
    for column in (
        "sampler",
        "target",
        "dim",
        "replicate",
        "random_seed",
        "status",
        "ess_bulk_mean",
        "ess_bulk_min",
        "ess_tail_min",
        "rhat_max",
        "cost_per_ess_mean",
        "cost_per_ess_min",
        "sampling_seconds",
        "compile_seconds",
        "grad_evals",
        "logp_evals",
        "settings_hash",
        "prov_cpu",
        "prov_git_commit",
        "version_pymc",
    ):
        assert column in runs.columns, column
    assert (runs["status"] == "ok").all(), runs[["sampler", "dim", "reason"]]
    for column in ("ess_bulk_mean", "ess_bulk_min", "cost_per_ess_mean", "cost_per_ess_min"):
        assert all(math.isfinite(v) and v > 0 for v in runs[column]), column
    assert set(runs["sampler"]) == set(study["samplers"])
    # exclusive_sampling (tiny.yaml): under --cores 2 the batches ran side by side, but no
    # two costed runs' sampling windows overlap; every run says how long it waited for its
    # turn. The oracle's runs (exact, never costed) do not take turns.
    assert study["exclusive_sampling"] and Path(clock.machine_lock()).exists()
    oracle = runs["sampler"] == "exact"
    assert oracle.any() and not runs.loc[oracle, "exclusive_sampling"].any()
    runs_all, runs = runs, runs[~oracle]
    windows = runs.sort_values("sampling_window_start")
    assert (windows["sampling_window_end"] >= windows["sampling_window_start"]).all()
    starts, ends = windows["sampling_window_start"].to_numpy(), windows["sampling_window_end"]
    assert (starts[1:] >= ends.to_numpy()[:-1]).all(), windows[["sampler", "dim", "replicate"]]
    assert (runs["exclusive_wait_seconds"] >= 0).all() and runs["exclusive_sampling"].all()
    # nothing but the oracle's millisecond runs sampled beside a costed run's clock
    assert (runs["shared_clock_share"] < policy.SHARED_CLOCK_TOLERANCE).all()
    assert not runs["contention_reason"].str.contains("beside another run").any()
    summary = (results / "summary.md").read_text()
    assert "Every costed run sampled alone (`exclusive_sampling`" in summary
    # auto, outside SLURM: each section paused the other jobs (essbench.pause), and every
    # job took itself off the machine's list when it ended
    assert runs["strict_sampling"].all() and (runs["paused_jobs"] >= 0).all()
    assert "No other essbench work ran beside them" in summary
    assert pause.listed_jobs(clock.machine_lock()) == []
    runs = runs_all
    summary = pd.read_csv(results / "tables" / "summary.csv")
    # The exact oracle runs and is diagnosed like any sampler, but has no cost anywhere.
    contenders = {c for c in cells if c[0] != "exact"}
    assert len(summary) == len(contenders) and "exact" not in set(summary["sampler"])
    oracle = runs[runs["sampler"] == "exact"]
    assert len(oracle) == len(study["dims"]) * len(study["replicates"])
    assert (oracle["status"] == "ok").all() and (oracle["bias_test"] == "mean+quantiles").all()
    assert not oracle["biased"].any() and not oracle["flag_rhat"].any()
    for name in (
        "cost_vs_dim.png",
        "cost_vs_dim.pdf",
        "ess_calibration.png",
        "ess_calibration.pdf",
    ):
        assert (results / "figures" / name).stat().st_size > 10_000
    text = (results / "summary.md").read_text()
    assert "## Flags on exact draws (the oracle)" in text
    # The verdict opens the summary: a table row per (target, dim, sampler) against emcee.
    section = text[text.index("## Verdict") : text.index("\n## ", text.index("## Verdict") + 1)]
    verdicts = [line for line in section.splitlines() if line.startswith("| `gaussian_iid` |")]
    assert len(verdicts) == len(study["dims"]) * 2, verdicts  # pymc_nuts, emcee_vectorized
    assert "| cost ÷ `emcee`'s [95%] | replicates |" in text
    assert all(v.split(" | ")[4] == "2" and "× [" in v for v in verdicts), verdicts
    assert text.index("## Verdict") < text.index("## Headline")
    page = (results / "report.html").read_text()
    assert "<h2>Verdict</h2>" in page
    # The same table in the standalone report, as HTML: a row per verdict cell.
    verdict_html = page[
        page.index("<h2>Verdict</h2>") : page.index("<h2>", page.index("<h2>Verdict</h2>") + 1)
    ]
    assert verdict_html.count("<td><code>gaussian_iid</code></td>") == len(verdicts), verdict_html
    assert "| gaussian_iid | 2 | analytic |" in text  # the truth-recovered table
    assert "<h2>Truth recovered</h2>" in (results / "report.html").read_text()
    assert "| gaussian_iid | 2 | 2 | 0% | – | – | – | 0% |" in text
    assert "`exact` ms/ESS" not in text
    assert "## Headline" in text and "`pymc_nuts` ÷ `emcee`" in text
    html = (results / "snakemake_report.html").read_text(errors="replace")
    assert "cost_vs_dim.png" in html
    standalone = (results / "report.html").read_text()
    # Every flagged or censored cell of the contenders has a figure of its worst parameter,
    # from the draws its flagged runs kept (keep_draws is off), inlined in the report.
    flagged_cells = {
        (r.sampler, r.target, r.dim)
        for r in runs.itertuples()
        if r.sampler != "exact" and (r.unreliable or r.biased)
    }
    index = json.loads((results / "figures" / "flagged" / "index.json").read_text())["cells"]
    assert {(c["sampler"], c["target"], c["dim"]) for c in index} == flagged_cells
    assert flagged_cells and all(c["figure"] for c in index), index
    assert standalone.count("data:image/png;base64,") == 7 + len(index)
    assert "Why runs are flagged: their worst parameter" in standalone
    assert "http://" not in standalone and "https://" not in standalone
    for name in (
        "scaling.png",
        "scaling.pdf",
        "ess_per_grad.png",
        "ess_per_grad.pdf",
        "speedup.png",
        "speedup.pdf",
        "time_breakdown.png",
        "time_breakdown.pdf",
    ):
        assert (results / "figures" / name).stat().st_size > 10_000
    # Paper numbers: every macro equals its table row.
    from essbench import paper

    macros = paper.parse_macros((results / "paper" / "macros.tex").read_text())
    alpha = pd.read_csv(results / "tables" / "alpha.csv")
    speedup = pd.read_csv(results / "tables" / "speedup.csv")
    assert len(macros) == len(alpha) + len(speedup) > 0
    for r in alpha.itertuples():
        name = f"alpha{paper.camel(r.sampler)}{paper.camel(r.target)}"
        assert macros[name] == paper.fmt(r.alpha)
    for r in speedup.itertuples():
        name = (
            f"speedup{paper.camel(r.sampler)}Over{paper.camel(r.baseline)}"
            f"{paper.camel(r.target)}D{paper.number_word(r.dim)}"
        )
        assert macros[name] == paper.fmt(r.speedup)
    for name in ("alpha.tex", "speedup.tex"):
        assert "\\toprule" in (results / "paper" / name).read_text()
    # Per-target figures (the report's categories) and provenance in every table.
    for target in runs["target"].unique():
        for name in ("cost_vs_dim", "scaling"):
            assert (results / "figures" / "by_target" / target / f"{name}.png").exists()
    for table in ("runs.csv", "summary.csv", "calibration.csv", "alpha.csv", "speedup.csv"):
        df = pd.read_csv(results / "tables" / table)
        assert list(df.columns[:3]) == ["study", "config_hash", "git_commit"], table
        assert (df["study"] == "tiny").all() and df["git_commit"].notna().all()
    calibration = pd.read_csv(results / "tables" / "calibration.csv")
    assert len(calibration) == len(cells)  # the oracle's calibration is the reference
    assert (
        (calibration["ratio_lo"] <= calibration["ratio"])
        & (calibration["ratio"] <= calibration["ratio_hi"])
    ).all()
    # --cores 2 with single-threaded runs: at least two sampling jobs ran side by side, and
    # sharing the warmed PyTensor cache did not fail either of them.
    # A job's span: its process's start to its last run's end (the runs themselves may
    # never overlap: a batch's imports and build can run beside another's runs only).
    jobs = runs.groupby("process_started_at")["finished_at"].max()
    spans = sorted(zip(jobs.index, jobs, strict=True))
    assert any(b[0] < a[1] for a, b in zip(spans, spans[1:], strict=False)), spans
    logs = " ".join(p.read_text() for p in (results / "logs").rglob("*.log"))
    assert not re.search(r"lock.{0,80}time.?out|time.?out.{0,80}lock", logs, re.I | re.S)
    # Results are readable as the umask (022) says, not mkstemp's private 0600.
    for path in (
        results / "tables" / "runs.csv",
        results / "tables" / "runs.parquet",
        next((results / "runs").rglob("r0.json")),
        results / "report.html",
    ):
        assert path.stat().st_mode & 0o777 == 0o644, path
    # Draws are kept only with keep_draws: none are left behind, but for the worst parameters
    # of each flagged run (and of no other run).
    assert not (results / "draws").exists()
    kept = runs[runs["flagged_draws_path"].notna()]
    flagged = runs[runs["unreliable"] | runs["biased"]]
    assert set(kept["flagged_draws_path"]) == {
        # (under this study's folder: other tests run a second study in the same directory)
        str(p.relative_to(tmp_path))
        for p in results.rglob("*.nc")
    }
    assert sorted(kept.index) == sorted(flagged.index)
    # Runs shared a process per sampler (runs_per_job is larger than a sampler's runs):
    # one job ran every replicate of both dims, each model built and primed once.
    assert (runs["batch_size"] == len(study["replicates"]) * len(study["dims"])).all()
    assert (runs["batch_models"] == len(study["dims"])).all()
    assert runs.groupby("sampler")["process_started_at"].nunique().eq(1).all()
    assert runs["process_started_at"].nunique() == len(ebconfig.batches(study))
    # Model by model: a model's first run in the process carries its build, and its later
    # runs none.
    for _, group in runs.groupby("sampler"):
        group = group.sort_values("batch_position")
        assert list(zip(group["dim"], group["replicate"], strict=True)) == [
            (d, r) for d in study["dims"] for r in study["replicates"]
        ]
        first = group.groupby("dim")["batch_position"].transform("min") == group["batch_position"]
        assert (group.loc[~first, "build_seconds"] == 0).all()
        assert (group.loc[first, "build_seconds"] > 0).all()
    # A second invocation finds nothing to do: finished runs are never recomputed.
    proc = snakemake("-n", "--cores", "2", "--configfile", str(config), cwd=tmp_path)
    assert "Nothing to be done" in proc.stdout + proc.stderr


def test_overhead_benchmark_accounts_for_every_core_second(tiny_run, capsys):
    """benchmarks/overhead.py on a finished study: its parts add up to wall x cores, the
    sampling part is the runs table's, and every batch is one sample job."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("overhead", REPO / "benchmarks" / "overhead.py")
    overhead = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(overhead)
    workdir = tiny_run.attrs["workdir"]
    jobs = overhead.study_jobs(overhead.job_times(workdir), "tiny")  # other tests add studies
    assert {"compile", "sample", "aggregate"} <= set(jobs["rule"])
    wall = float(jobs["end"].max() - jobs["start"].min()) + 1.0
    config = REPO / "config" / "test" / "tiny.yaml"
    overhead.main(["--workdir", str(workdir), "--wall", str(wall), "--configfile", str(config)])
    out = capsys.readouterr().out
    parts = dict(re.findall(r"^(\S.*?)\s{2,}(-?\d+\.\d)\s+\d+\.\d%$", out, flags=re.M))
    assert parts["sampling"] and "start-up of run jobs" in parts, out
    assert sum(map(float, parts.values())) == pytest.approx(2 * wall, abs=0.1 * len(parts))
    ok = tiny_run[tiny_run["status"] == "ok"]
    sampling = float((ok["sampling_seconds"] * ok["threads"]).sum())
    assert float(parts["sampling"]) == pytest.approx(sampling, abs=0.06)
    # The ratio divides by each run's sampling x the cores it kept busy.
    busy = float((ok["sampling_seconds"] * ok[["threads", "threads_needed"]].max(axis=1)).sum())
    ratio = float(re.search(r"overhead = .* = (\d+\.\d+)", out).group(1))
    assert ratio == pytest.approx(2 * wall / busy, abs=0.006)
    study = yaml.safe_load(config.read_text())
    assert f"sample={len(ebconfig.batches(ebconfig.validate(study)))}" in out


def test_redo_on_a_finished_study_plans_only_the_chosen_batches_again(tiny_run, tmp_path):
    """``python -m essbench.redo --apply`` after a study has finished: the next invocation
    runs the chosen batches (and the tables after them), not "Nothing to be done"."""
    from essbench import redo

    config = str(REPO / "config" / "test" / "tiny.yaml")
    shutil.copytree(tiny_run.attrs["workdir"] / "results", tmp_path / "results", symlinks=True)
    args = ("-n", "--cores", "2", "--configfile", config, "--rerun-triggers", "mtime")
    before = snakemake(*args, cwd=tmp_path)
    assert "Nothing to be done" in before.stdout + before.stderr
    sampler = sorted(tiny_run["sampler"].unique())[0]
    chosen = redo.plan(tmp_path / "results" / "tiny", samplers=[sampler])
    redo.apply(tmp_path / "results" / "tiny", chosen)
    after = snakemake(*args, cwd=tmp_path)
    planned = after.stdout + after.stderr
    samples = re.search(r"^sample\s+(\d+)$", planned, re.MULTILINE)
    assert samples, planned[-3000:]
    assert int(samples.group(1)) == len(chosen.manifests) > 0
    assert re.search(r"^aggregate\s+1$", planned, re.MULTILINE)
