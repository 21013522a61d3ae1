"""Snakemake adapter: build and compile one (target, dim, options, backend) model."""

from essbench.runtime import finish, start

start(snakemake)  # noqa: F821 - injected by Snakemake; before NumPy/PyTensor are imported

from essbench.pipeline import compile_model  # noqa: E402

compile_model(
    target=snakemake.wildcards.target,  # noqa: F821
    dim=int(snakemake.wildcards.dim),  # noqa: F821
    options=snakemake.params.options,  # noqa: F821
    backend=snakemake.wildcards.backend,  # noqa: F821
    out_json=snakemake.output[0],  # noqa: F821
)
finish()  # outputs written: skip the interpreter teardown
