"""Snakemake adapter: the scaling-law figure, from the aggregated tables only."""

from essbench.runtime import finish, start

start(snakemake)  # noqa: F821 - injected by Snakemake

import pandas as pd  # noqa: E402

from essbench import plots, provenance  # noqa: E402

caption = (
    f"essbench study {snakemake.params.study}, config {snakemake.params.config_hash}, "  # noqa: F821
    f"commit {provenance.git_commit()[:12]}"
)
plots.scaling(
    pd.read_parquet(snakemake.input.runs),  # noqa: F821
    pd.read_csv(snakemake.input.alpha),  # noqa: F821
    [snakemake.output.png, snakemake.output.pdf],  # noqa: F821
    caption,
)
finish()  # outputs written: skip the interpreter teardown
