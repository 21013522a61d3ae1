"""Snakemake adapter: one tidy table of all runs, the per-cell summary, the ESS calibration."""

from essbench.runtime import finish, start

start(snakemake)  # noqa: F821 - injected by Snakemake

from essbench import aggregate, provenance, quantity_summary  # noqa: E402

out, params = snakemake.output, snakemake.params  # noqa: F821
prov = {
    "study": params.study,
    "config_hash": params.config_hash,
    "git_commit": provenance.git_commit(),
}
records = aggregate.load_records(snakemake.input)  # noqa: F821
runs = aggregate.runs_table(records, params.study)
aggregate.write_table(runs, parquet=out.parquet, csv=out.csv, provenance=prov)
calibration = aggregate.calibration_table(records)
summary = aggregate.summary_table(runs, calibration)
aggregate.write_table(summary, csv=out.summary, provenance=prov)
aggregate.write_table(calibration, csv=out.calibration, provenance=prov)
quantities = quantity_summary.quantities_table(records)
aggregate.write_table(quantities, csv=out.quantities, provenance=prov)
cells = quantity_summary.summary_table(quantities)
aggregate.write_table(cells, csv=out.quantity_summary, provenance=prov)
finish()  # outputs written: skip the interpreter teardown
