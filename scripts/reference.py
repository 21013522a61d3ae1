"""Snakemake adapter: gated reference moments for a target without closed-form truth."""

from essbench.runtime import finish, start

start(snakemake)  # noqa: F821 - injected by Snakemake

from essbench.pipeline import reference  # noqa: E402

reference(
    target=snakemake.wildcards.target,  # noqa: F821
    dim=int(snakemake.wildcards.dim),  # noqa: F821
    options=snakemake.params.options,  # noqa: F821
    backend=snakemake.params.backend,  # noqa: F821
    out_json=snakemake.output[0],  # noqa: F821
    threads=snakemake.threads,  # noqa: F821
    reference_draws=snakemake.params.reference_draws,  # noqa: F821
)
finish()  # outputs written: skip the interpreter teardown
