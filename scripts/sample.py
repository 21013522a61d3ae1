"""Snakemake adapter: one sampler run; failures are recorded in the run's JSON."""

from essbench.runtime import start

start(snakemake)  # noqa: F821 - injected by Snakemake; before NumPy/PyTensor are imported

from essbench.pipeline import sample  # noqa: E402

sample(
    settings=snakemake.params.settings,  # noqa: F821
    out_json=snakemake.output.run,  # noqa: F821
    out_draws=snakemake.output.draws,  # noqa: F821
    threads=snakemake.threads,  # noqa: F821
    log_path=str(snakemake.log[0]),  # noqa: F821
    keep_draws=snakemake.params.keep_draws,  # noqa: F821
    budget_seconds=snakemake.params.budget_seconds,  # noqa: F821
)
