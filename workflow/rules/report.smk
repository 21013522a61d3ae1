# Figures and the written summary read only the aggregated tables: a change of style
# never re-runs a sampler.


rule figures:
    input:
        runs="results/tables/runs.parquet",
        calibration="results/tables/calibration.csv",
    output:
        png=report(
            "results/figures/cost_vs_dim.png",
            caption="../report/cost_vs_dim.rst",
            category="Cost per effective sample",
        ),
        pdf="results/figures/cost_vs_dim.pdf",
        calibration_png=report(
            "results/figures/ess_calibration.png",
            caption="../report/ess_calibration.rst",
            category="ESS calibration",
        ),
        calibration_pdf="results/figures/ess_calibration.pdf",
    log:
        "results/logs/figures.log",
    conda:
        "../../envs/plotting.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=20,
    params:
        study=config["study"],
        config_hash=CONFIG_HASH,
    script:
        "../../scripts/figures.py"


rule summary:
    input:
        runs="results/tables/runs.parquet",
        summary="results/tables/summary.csv",
        calibration="results/tables/calibration.csv",
    output:
        report(
            "results/summary.md",
            caption="../report/summary.rst",
            category="Summary",
        ),
    log:
        "results/logs/summary.log",
    conda:
        "../../envs/analysis.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=20,
    params:
        study=config["study"],
        config_hash=CONFIG_HASH,
        published=config.get("published"),
    script:
        "../../scripts/summary.py"
