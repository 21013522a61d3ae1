"""Snakemake adapter: compile one (target, dim, options) Stan program into the Stan cache."""

from essbench.runtime import finish, start

start(snakemake)  # noqa: F821 - injected by Snakemake; before NumPy is imported

from essbench.pipeline import compile_stan  # noqa: E402

compile_stan(
    target=snakemake.wildcards.target,  # noqa: F821
    dim=int(snakemake.wildcards.dim),  # noqa: F821
    options=snakemake.params.options,  # noqa: F821
    out_json=snakemake.output[0],  # noqa: F821
)
finish()  # outputs written: skip the interpreter teardown
