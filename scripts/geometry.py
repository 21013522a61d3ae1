"""Snakemake adapter: each target's geometry (condition number, tail weight, modes)."""

from essbench.runtime import finish, start

start(snakemake)  # noqa: F821 - injected by Snakemake

from essbench import aggregate, decision  # noqa: E402

params = snakemake.params  # noqa: F821
table = decision.geometry_table(
    params.cells, lambda target: params.target_options[target], params.references
)
aggregate.write_table(table, csv=snakemake.output[0])  # noqa: F821
finish()  # outputs written: skip the interpreter teardown
