"""Snakemake adapter: the decision table and its figure, from the aggregated tables only."""

from essbench.runtime import finish, start

start(snakemake)  # noqa: F821 - injected by Snakemake

import pandas as pd  # noqa: E402

from essbench import aggregate, decision, provenance  # noqa: E402

inp, out, params = snakemake.input, snakemake.output, snakemake.params  # noqa: F821
table = decision.table(
    pd.read_parquet(inp.runs), pd.read_csv(inp.calibration), pd.read_csv(inp.geometry)
)
aggregate.write_table(table, csv=out.table)
caption = (
    f"essbench study {params.study}, config {params.config_hash}, "
    f"commit {provenance.git_commit()[:12]}"
)
decision.figure(table, [out.png, out.pdf], caption)
finish()  # outputs written: skip the interpreter teardown
