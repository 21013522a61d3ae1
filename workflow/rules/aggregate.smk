# One tidy table of every run, and the summary across replicates; the named quantities'
# long-form table and its summary (essbench.quantity_summary).


rule aggregate:
    input:
        batch_manifests,
    output:
        parquet=f"{RESULTS}tables/runs.parquet",
        csv=f"{RESULTS}tables/runs.csv",
        summary=f"{RESULTS}tables/summary.csv",
        calibration=f"{RESULTS}tables/calibration.csv",
        quantities=f"{RESULTS}tables/quantities.csv",
        quantity_summary=f"{RESULTS}tables/quantity_summary.csv",
    log:
        f"{RESULTS}logs/aggregate.log",
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
