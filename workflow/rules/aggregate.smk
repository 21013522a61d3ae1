# One tidy table of every run, and the summary across seeds.


rule aggregate:
    input:
        diagnosed_runs,
    output:
        parquet="results/tables/runs.parquet",
        csv="results/tables/runs.csv",
        summary="results/tables/summary.csv",
        calibration="results/tables/calibration.csv",
    log:
        "results/logs/aggregate.log",
    conda:
        "../../envs/analysis.yaml"
    threads: 1
    resources:
        mem_mb=4000,
        runtime=30,
    params:
        study=config["study"],
        config_hash=CONFIG_HASH,
    script:
        "../../scripts/aggregate.py"
