"""Snakemake adapter: diagnostics and costs of one run."""

from essbench.runtime import start

start(snakemake)  # noqa: F821 - injected by Snakemake

from essbench.pipeline import diagnose  # noqa: E402

diagnose(
    run_json=snakemake.input.run,  # noqa: F821
    draws_path=snakemake.input.draws,  # noqa: F821
    out_json=snakemake.output[0],  # noqa: F821
    compile_json=snakemake.input.model,  # noqa: F821
    runs_per_model=snakemake.params.runs_per_model,  # noqa: F821
    threads=snakemake.threads,  # noqa: F821
    target_options=snakemake.params.target_options,  # noqa: F821
    reference_json=snakemake.input.reference or None,  # noqa: F821
)
