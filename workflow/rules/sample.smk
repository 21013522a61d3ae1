# One job per (sampler, target, dim, seed): each run has its own result, so a finished run
# is never recomputed. `diagnose` reads the draws (temporary unless keep_draws) and adds
# ESS, R-hat, costs and bias.


rule sample:
    input:
        model="results/compile/{target}/d{dim}.json",
    output:
        run="results/runs/{target}/d{dim}/{sampler}/s{seed}.run.json",
        draws=(
            "results/runs/{target}/d{dim}/{sampler}/s{seed}.draws.npz"
            if config["keep_draws"]
            else temp("results/runs/{target}/d{dim}/{sampler}/s{seed}.draws.npz")
        ),
    log:
        "results/logs/sample/{target}/d{dim}/{sampler}/s{seed}.log",
    group:
        "runs"
    conda:
        sampler_env
    threads: sampler_threads
    resources:
        mem_mb=run_mem_mb,
        runtime=run_runtime,
    params:
        settings=run_settings,
        keep_draws=config["keep_draws"],
        budget_seconds=config["run_budget_seconds"],
        compiledir=COMPILEDIR,
    script:
        "../../scripts/sample.py"


rule diagnose:
    input:
        run="results/runs/{target}/d{dim}/{sampler}/s{seed}.run.json",
        draws="results/runs/{target}/d{dim}/{sampler}/s{seed}.draws.npz",
        model="results/compile/{target}/d{dim}.json",
        reference=reference_input,
    output:
        "results/runs/{target}/d{dim}/{sampler}/s{seed}.json",
    log:
        "results/logs/diagnose/{target}/d{dim}/{sampler}/s{seed}.log",
    group:
        "runs"
    conda:
        "../../envs/analysis.yaml"
    threads: diagnose_threads
    resources:
        mem_mb=run_mem_mb,
        runtime=30,
    params:
        runs_per_model=runs_per_model,
        target_options=lambda wc: ebconfig.target_options(config, wc.target),
    script:
        "../../scripts/diagnose.py"
