"""Snakemake adapter: results/summary.md."""

from essbench.runtime import finish, start

start(snakemake)  # noqa: F821 - injected by Snakemake

import pandas as pd  # noqa: E402

from essbench import io, quantity_summary, report  # noqa: E402

text = report.summary_markdown(
    study=snakemake.params.study,  # noqa: F821
    config_hash=snakemake.params.config_hash,  # noqa: F821
    runs=pd.read_parquet(snakemake.input.runs),  # noqa: F821
    summary=pd.read_csv(snakemake.input.summary),  # noqa: F821
    calibration=pd.read_csv(snakemake.input.calibration),  # noqa: F821
    published=snakemake.params.published,  # noqa: F821
    baseline=snakemake.params.baseline,  # noqa: F821
    decision=pd.read_csv(snakemake.input.decision),  # noqa: F821
    quantities=quantity_summary.read(snakemake.input.quantities),  # noqa: F821
)
io.write_text(snakemake.output[0], text)  # noqa: F821
finish()  # outputs written: skip the interpreter teardown
