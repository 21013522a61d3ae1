"""Snakemake adapter: scaling-law fits, speed-ups, LaTeX tables and macros."""

from essbench.runtime import finish, start

start(snakemake)  # noqa: F821 - injected by Snakemake

import pandas as pd  # noqa: E402

from essbench import aggregate, io, paper, provenance, scaling  # noqa: E402

out = snakemake.output  # noqa: F821
prov = (
    f"study {snakemake.params.study}, config {snakemake.params.config_hash}, "  # noqa: F821
    f"commit {provenance.git_commit()}"
)
table_prov = {
    "study": snakemake.params.study,  # noqa: F821
    "config_hash": snakemake.params.config_hash,  # noqa: F821
    "git_commit": provenance.git_commit(),
}
alpha = scaling.fit(pd.read_parquet(snakemake.input.runs))  # noqa: F821
speedup = paper.speedup_table(
    pd.read_csv(snakemake.input.summary),  # noqa: F821
    baseline=snakemake.params.baseline,  # noqa: F821
)
aggregate.write_table(alpha, csv=out.alpha, provenance=table_prov)
aggregate.write_table(speedup, csv=out.speedup, provenance=table_prov)
io.write_text(out.alpha_tex, paper.alpha_latex(alpha, prov))
io.write_text(out.speedup_tex, paper.speedup_latex(speedup, prov))
io.write_text(out.macros, paper.macros(alpha, speedup, prov))
finish()  # outputs written: skip the interpreter teardown
