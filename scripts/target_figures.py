"""Snakemake adapter: one target's cost-per-ESS and scaling figures (report category)."""

from essbench.runtime import finish, start

start(snakemake)  # noqa: F821 - injected by Snakemake

import pandas as pd  # noqa: E402

from essbench import plots, provenance  # noqa: E402

smk = snakemake  # noqa: F821
target = smk.wildcards.target
caption = (
    f"essbench study {smk.params.study}, config {smk.params.config_hash}, "
    f"commit {provenance.git_commit()[:12]}"
)
runs = pd.read_parquet(smk.input.runs)
runs = runs[runs["target"] == target]
alpha = pd.read_csv(smk.input.alpha)
plots.cost_vs_dim(runs, [smk.output.cost], caption)
plots.scaling(runs, alpha[alpha["target"] == target], [smk.output.scaling], caption)
finish()  # outputs written: skip the interpreter teardown
