"""Snakemake adapter: one batch of runs (sampled and diagnosed in turn, one record each)."""

from essbench.runtime import start

params = snakemake.params  # noqa: F821 - injected by Snakemake
# Before NumPy/PyTensor are imported: BLAS threads = the runs' sampling threads (the job may
# hold more cores, for the diagnostics' own thread pool).
start(snakemake, threads=params.sampler_threads)  # noqa: F821

from essbench.pipeline import run_batch  # noqa: E402

run_batch(
    runs=params.runs,
    out_manifest=snakemake.output[0],  # noqa: F821
    threads=params.sampler_threads,
    diagnose_threads=snakemake.threads,  # noqa: F821
    log_path=str(snakemake.log[0]),  # noqa: F821
    keep_draws=params.keep_draws,
    budget_seconds=params.budget_seconds,
    compile_json=snakemake.input.model,  # noqa: F821
    reference_json=snakemake.input.get("reference"),  # noqa: F821
)
