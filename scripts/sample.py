"""Snakemake adapter: one batch of runs (sampled and diagnosed in turn, one record each)."""

from essbench.runtime import finish, start

start(snakemake)  # noqa: F821 - injected by Snakemake; before NumPy/PyTensor are imported
params = snakemake.params  # noqa: F821

from essbench.clock import exclusive_lock  # noqa: E402
from essbench.pipeline import run_batch  # noqa: E402

run_batch(
    runs=params.runs,
    out_manifest=snakemake.output[0],  # noqa: F821
    threads=snakemake.threads,  # noqa: F821
    # The diagnostics use the cores the job holds for sampling: holding a second core for
    # an ensemble's diagnostics would idle it through the sampling (issue 13's overhead).
    diagnose_threads=snakemake.threads,  # noqa: F821
    log_path=str(snakemake.log[0]),  # noqa: F821
    keep_draws=params.keep_draws,
    budget_seconds=params.budget_seconds,
    # The machine's lock for each timed section, or None (essbench.clock.exclusive_lock).
    exclusive_lock=exclusive_lock(params.exclusive_sampling),
)
finish()  # outputs written: skip the interpreter teardown
