# Config validation (JSON schema + semantic checks) and helpers shared by all rules.
import sys
from pathlib import Path

SRC = str(Path(workflow.basedir) / "src")
if SRC not in sys.path:
    sys.path.insert(0, SRC)

from essbench import config as ebconfig
from essbench import registry
from essbench import resources as ebresources
from essbench.runtime import export_pythonpath

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

RUNS = ebconfig.runs(config)
CONFIG_HASH = ebconfig.settings_hash(config)
COMPILEDIR = "results/cache/pytensor"


wildcard_constraints:
    sampler=r"[A-Za-z0-9_]+",
    target=r"[A-Za-z0-9_]+",
    dim=r"\d+",
    seed=r"\d+",


def run_settings(wildcards):
    return ebconfig.run_settings(
        config,
        wildcards.sampler,
        wildcards.target,
        int(wildcards.dim),
        int(wildcards.seed),
    )


def sampler_threads(wildcards):
    sampler_module = registry.sampler(wildcards.sampler)
    return sampler_module.threads(ebconfig.sampler_options(config, wildcards.sampler))


def sampler_env(wildcards):
    # The sampler's conda env: envs/sampling.yaml, or the one its module names (ENV = "jax").
    sampler_module = registry.sampler(wildcards.sampler)
    return f"../../envs/{getattr(sampler_module, 'ENV', 'sampling')}.yaml"


def diagnose_threads(wildcards):
    return ebresources.diagnose_threads(wildcards.sampler)


def run_mem_mb(wildcards):
    options = ebconfig.sampler_options(config, wildcards.sampler)
    return ebresources.run_mem_mb(
        wildcards.sampler, options, int(wildcards.dim), config["target_ess"]
    )


def run_runtime(wildcards):
    options = ebconfig.sampler_options(config, wildcards.sampler)
    return ebresources.run_runtime_min(
        wildcards.sampler,
        options,
        int(wildcards.dim),
        config["run_budget_seconds"],
        config["target_ess"],
    )


def reference_input(wildcards):
    target_module = registry.target(wildcards.target)
    if getattr(target_module, "TRUTH", "analytic") == "reference":
        return f"results/reference/{wildcards.target}/d{wildcards.dim}.json"
    return []


def runs_per_model(wildcards):
    return sum(
        1 for r in RUNS if r.target == wildcards.target and r.dim == int(wildcards.dim)
    )


def diagnosed_runs(wildcards=None):
    return [f"results/runs/{r.key}.json" for r in RUNS]


def final_outputs():
    return [
        "results/tables/runs.parquet",
        "results/tables/runs.csv",
        "results/tables/summary.csv",
        "results/tables/calibration.csv",
        "results/figures/cost_vs_dim.png",
        "results/figures/cost_vs_dim.pdf",
        "results/figures/ess_calibration.png",
        "results/figures/ess_calibration.pdf",
        "results/figures/scaling.png",
        "results/figures/scaling.pdf",
        "results/tables/alpha.csv",
        "results/tables/speedup.csv",
        "results/paper/alpha.tex",
        "results/paper/speedup.tex",
        "results/paper/macros.tex",
        "results/figures/ess_per_grad.png",
        "results/figures/speedup.png",
        "results/figures/time_breakdown.png",
        "results/report.html",
        "results/summary.md",
        *(
            f"results/figures/by_target/{target}/{name}.png"
            for target in config["targets"]
            for name in ("cost_vs_dim", "scaling")
        ),
    ]
