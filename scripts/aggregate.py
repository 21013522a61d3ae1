"""Snakemake adapter: one tidy table of all runs, the per-cell summary, the ESS calibration."""

from essbench.runtime import start

start(snakemake)  # noqa: F821 - injected by Snakemake

from essbench import aggregate  # noqa: E402

records = aggregate.load_records(snakemake.input)  # noqa: F821
runs = aggregate.runs_table(records, snakemake.params.study)  # noqa: F821
aggregate.write_table(runs, parquet=snakemake.output.parquet, csv=snakemake.output.csv)  # noqa: F821
aggregate.write_table(aggregate.summary_table(runs), csv=snakemake.output.summary)  # noqa: F821
aggregate.write_table(
    aggregate.calibration_table(records),
    csv=snakemake.output.calibration,  # noqa: F821
)
