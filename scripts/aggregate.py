"""Snakemake adapter: one tidy table of all runs and the per-cell summary."""

from essbench.runtime import start

start(snakemake)  # noqa: F821 - injected by Snakemake

from essbench import aggregate  # noqa: E402

runs = aggregate.runs_table(aggregate.load_records(snakemake.input), snakemake.params.study)  # noqa: F821
aggregate.write_table(runs, parquet=snakemake.output.parquet, csv=snakemake.output.csv)  # noqa: F821
aggregate.write_table(aggregate.summary_table(runs), csv=snakemake.output.summary)  # noqa: F821
