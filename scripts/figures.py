"""Snakemake adapter: the cost-per-ESS figure, from the aggregated table only."""

from essbench.runtime import finish, start

start(snakemake)  # noqa: F821 - injected by Snakemake

import pandas as pd  # noqa: E402

from essbench import plots, provenance  # noqa: E402

runs = pd.read_parquet(snakemake.input.runs)  # noqa: F821
caption = (
    f"essbench study {snakemake.params.study}, config {snakemake.params.config_hash}, "  # noqa: F821
    f"commit {provenance.git_commit()[:12]}"
)
plots.cost_vs_dim(runs, [snakemake.output.png, snakemake.output.pdf], caption)  # noqa: F821
plots.ess_calibration(
    pd.read_csv(snakemake.input.calibration),  # noqa: F821
    [snakemake.output.calibration_png, snakemake.output.calibration_pdf],  # noqa: F821
    caption,
)
finish()  # outputs written: skip the interpreter teardown
