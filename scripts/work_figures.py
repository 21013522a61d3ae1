"""Snakemake adapter: ESS per gradient, speed-up over emcee, time breakdown."""

from essbench.runtime import finish, start

start(snakemake)  # noqa: F821 - injected by Snakemake

import pandas as pd  # noqa: E402

from essbench import plots, provenance  # noqa: E402

out, params = snakemake.output, snakemake.params  # noqa: F821
caption = (
    f"essbench study {params.study}, config {params.config_hash}, "
    f"commit {provenance.git_commit()[:12]}"
)
runs = pd.read_parquet(snakemake.input.runs)  # noqa: F821
plots.ess_per_grad(runs, [out.ess_per_grad, out.ess_per_grad_pdf], caption)
plots.speedup(pd.read_csv(snakemake.input.speedup), [out.speedup, out.speedup_pdf], caption)  # noqa: F821
plots.time_breakdown(runs, [out.time_breakdown, out.time_breakdown_pdf], caption)
finish()  # outputs written: skip the interpreter teardown
