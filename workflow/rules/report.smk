# Figures and the written summary read only the aggregated tables: a change of style
# never re-runs a sampler.


rule figures:
    input:
        runs="results/tables/runs.parquet",
    output:
        png=report(
            "results/figures/cost_vs_dim.png",
            caption="../report/cost_vs_dim.rst",
            category="Cost per effective sample",
        ),
        pdf="results/figures/cost_vs_dim.pdf",
    log:
        "results/logs/figures.log",
    params:
        study=config["study"],
        config_hash=CONFIG_HASH,
    threads: 1
    conda:
        "../../envs/plotting.yaml"
    script:
        "../../scripts/figures.py"


rule summary:
    input:
        runs="results/tables/runs.parquet",
        summary="results/tables/summary.csv",
    output:
        report(
            "results/summary.md",
            caption="../report/summary.rst",
            category="Summary",
        ),
    log:
        "results/logs/summary.log",
    params:
        study=config["study"],
        config_hash=CONFIG_HASH,
        published=config.get("published"),
    threads: 1
    conda:
        "../../envs/analysis.yaml"
    script:
        "../../scripts/summary.py"
