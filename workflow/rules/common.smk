# Config validation (JSON schema + semantic checks) and helpers shared by all rules.
import os
import sys
from pathlib import Path

SRC = str(Path(workflow.basedir) / "src")
if SRC not in sys.path:
    sys.path.insert(0, SRC)

from essbench import clock as ebclock
from essbench import config as ebconfig
from essbench import registry
from essbench import resources as ebresources
from essbench import schedule as ebschedule
from essbench.runtime import export_pythonpath
from essbench.stan import CACHE_ENV as STAN_CACHE_ENV
from essbench.targets import TRUTH_CACHE_ENV

# Scripts run in their own processes (and conda envs): let them import the package too.
export_pythonpath(SRC)

try:
    _full = ebconfig.validate(
        config,
        ebconfig.load_schema(workflow.source_path("../schemas/config.schema.yaml")),
    )
except ebconfig.ConfigError as err:
    sys.stderr.write(
        f"{err}\nFix the config (keys are explained in config/README.md).\n"
    )
    sys.exit(1)
config.update(_full)

BATCHES = {batch.key: batch for batch in ebconfig.batches(config)}
CONFIG_HASH = ebconfig.settings_hash(config)
# Everything this study produces lives under RESULTS; what does not depend on the study
# (compile caches, compiled models, reference moments) lives under SHARED, keyed by what it
# depends on, so that two studies never overwrite each other.
RESULTS = f"results/{config['study']}/"
SHARED = "results/shared/"
COMPILEDIR = f"{SHARED}pytensor"
# Compiled Stan models (httpstan's cache), filled by the compile_stan rule and read by every
# job that runs Stan: jobs inherit the variable.
STANDIR = f"{SHARED}stan"
os.environ[STAN_CACHE_ENV] = STANDIR
# Exact quantiles of the analytic targets (essbench.targets.cached_exact_quantiles): the
# first batch of a model to need them fills it, the others read it (jobs inherit the
# variable).
os.environ[TRUTH_CACHE_ENV] = f"{SHARED}truth"


wildcard_constraints:
    sampler=r"[A-Za-z0-9_]+",
    target=r"[A-Za-z0-9_]+",
    dim=r"\d+",
    replicate=r"\d+",
    batch=r"([a-z]+-)?n\d+(-\d+)?",
    options=r"o[0-9a-f]+",
    backend=r"[a-z]+",


def batch_of(wildcards):
    return BATCHES[f"{wildcards.sampler}/{wildcards.batch}"]


def options_of(target):
    return ebconfig.target_key(config, target)


def compile_path(target, dim):
    return (
        f"{SHARED}compile/{target}/d{dim}/{options_of(target)}.{config['backend']}.json"
    )


def stan_path(target, dim):
    return f"{STANDIR}/{target}/d{dim}/{options_of(target)}.json"


def reference_path(target, dim):
    return f"{SHARED}reference/{target}/d{dim}/{options_of(target)}.json"


def record_path(run):
    return f"{RESULTS}runs/{run.key}.json"


def draws_path(run):
    return f"{RESULTS}draws/{run.key}.nc"


def flagged_draws_path(run):
    # Kept for flagged or censored runs only, whatever keep_draws says (flag figures).
    return f"{RESULTS}flagged_draws/{run.key}.nc"


def batch_runs(wildcards):
    """Each run of the batch: its settings, where its record (and draws, and a flagged
    run's worst parameters' draws) go, and its model's compile record and reference."""
    return [
        {
            "settings": ebconfig.run_settings(
                config, run.sampler, run.target, run.dim, run.replicate
            ),
            "record": record_path(run),
            "draws": draws_path(run) if config["keep_draws"] else None,
            "flagged_draws": flagged_draws_path(run),
            "model": compile_path(run.target, run.dim),
            "reference": (
                reference_path(run.target, run.dim)
                if registry.target(run.target).TRUTH == "reference"
                else None
            ),
        }
        for run in batch_of(wildcards).runs
    ]


def sampler_threads(wildcards):
    # The cores a run of the sampler keeps busy while it samples.
    plugin = registry.sampler(wildcards.sampler)
    return plugin.threads(ebconfig.sampler_options(config, wildcards.sampler))


def job_threads(wildcards):
    # What a sample job declares: 1 where its timed sections pause every other job on a
    # machine Snakemake runs the jobs on itself (a section then has every core, and the
    # rest of the job is one thread), else its sampler's (essbench.clock.job_threads).
    return ebclock.job_threads(
        sampler_threads(wildcards), config["exclusive_sampling"], workflow.local_exec
    )


def sampler_env(wildcards):
    # The conda env every run of the batch needs (essbench.config.run_env: the sampler's
    # ENV, or a JAX log_prob file's "jax"); a batch never spans two.
    return f"../../envs/{batch_of(wildcards).env}.yaml"


def target_env(wildcards):
    # The conda env of the rules that evaluate the target alone (compile, reference).
    return f"../../envs/{registry.target(wildcards.target).ENV}.yaml"


def run_mem_mb(wildcards):
    # The runs of a batch run one after the other: its largest run's memory.
    options = ebconfig.sampler_options(config, wildcards.sampler)
    return max(
        ebresources.run_mem_mb(wildcards.sampler, options, dim, config["ess_goal"])
        for _, dim in batch_of(wildcards).models
    )


def batch_runtime(wildcards):
    options = ebconfig.sampler_options(config, wildcards.sampler)
    return sum(
        ebresources.run_runtime_min(
            wildcards.sampler,
            options,
            run.dim,
            config["run_budget_seconds"],
            config["ess_goal"],
        )
        for run in batch_of(wildcards).runs
    )


def batch_inputs(wildcards):
    # Every model the batch runs: its compile record, its Stan program where the sampler
    # runs Stan, its reference where the target's truth is computed. ancient(): a shared
    # model recompiled for another study is no reason to redo runs.
    models = batch_of(wildcards).models
    inputs = {"model": [ancient(compile_path(t, d)) for t, d in models]}
    if registry.sampler(wildcards.sampler).STAN_MODEL:
        inputs["stan"] = [ancient(stan_path(t, d)) for t, d in models]
    references = [
        ancient(reference_path(t, d))
        for t, d in models
        if registry.target(t).TRUTH == "reference"
    ]
    if references:
        inputs["reference"] = references
    return inputs


def batch_manifests(wildcards=None):
    return [f"{RESULTS}batches/{key}.json" for key in BATCHES]


# Priorities (essbench.schedule): the longest estimated chain of work starts first, so that
# a long single-threaded batch is not left to run beside an idle core at the end.
def _batch_estimate(batch):
    return ebschedule.batch_seconds(
        batch.sampler,
        ebconfig.sampler_options(config, batch.sampler),
        [run.dim for run in batch.runs],
        config["run_budget_seconds"],
        config["ess_goal"],
    )


# Per model (target, dim): the estimates of the batches that run it (they wait for its
# compile and reference jobs).
BATCH_ESTIMATES = {}
for _batch in BATCHES.values():
    for _model in _batch.models:
        BATCH_ESTIMATES.setdefault(_model, []).append(_batch_estimate(_batch))


def batch_priority(wildcards):
    return _batch_estimate(batch_of(wildcards))


def reference_priority(wildcards):
    return ebschedule.upstream_priority(
        ebschedule.reference_seconds(wildcards.target),
        BATCH_ESTIMATES.get((wildcards.target, int(wildcards.dim)), []),
    )


def compile_priority(wildcards):
    waiting = list(BATCH_ESTIMATES.get((wildcards.target, int(wildcards.dim)), []))
    if registry.target(wildcards.target).TRUTH == "reference":
        waiting.append(reference_priority(wildcards))
    return ebschedule.upstream_priority(ebschedule.COMPILE_SECONDS, waiting)


def geometry_cells():
    """Every (target, dim) the study runs, for the geometry rule."""
    return sorted({(run.target, run.dim) for run in ebconfig.runs(config)})


def geometry_references():
    """The reference rule's record of each (target, dim) whose truth it makes: "target/dim"
    -> path (the geometry of a target without exact or posteriordb draws)."""
    return {
        f"{t}/{d}": reference_path(t, d)
        for t, d in geometry_cells()
        if registry.target(t).TRUTH == "reference"
    }


def all_target_options():
    """Each target's options (its declared defaults overridden by the config's)."""
    return {t: ebconfig.target_options(config, t) for t in config["targets"]}


def final_outputs():
    return [
        RESULTS + path
        for path in (
            "tables/runs.parquet",
            "tables/runs.csv",
            "tables/summary.csv",
            "tables/calibration.csv",
            "tables/quantities.csv",
            "tables/quantity_summary.csv",
            "figures/cost_vs_dim.png",
            "figures/cost_vs_dim.pdf",
            "figures/ess_calibration.png",
            "figures/ess_calibration.pdf",
            "figures/scaling.png",
            "figures/scaling.pdf",
            "tables/alpha.csv",
            "tables/speedup.csv",
            "paper/alpha.tex",
            "paper/speedup.tex",
            "paper/macros.tex",
            "figures/ess_per_grad.png",
            "figures/speedup.png",
            "figures/time_breakdown.png",
            "report.html",
            "summary.md",
            "tables/geometry.csv",
            "tables/decision.csv",
            "figures/decision.png",
            "figures/decision.pdf",
            *(
                f"figures/by_target/{target}/{name}.png"
                for target in config["targets"]
                for name in ("cost_vs_dim", "scaling")
            ),
        )
    ]
