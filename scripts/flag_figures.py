"""Snakemake adapter: a trace and rank figure of the worst parameter of each flagged cell."""

from essbench.runtime import finish, start

start(snakemake)  # noqa: F821 - injected by Snakemake

import pandas as pd  # noqa: E402

from essbench import flag_figures  # noqa: E402

flag_figures.write_figures(
    pd.read_parquet(snakemake.input.runs),  # noqa: F821
    snakemake.output[0],  # noqa: F821
)
finish()  # outputs written: skip the interpreter teardown
