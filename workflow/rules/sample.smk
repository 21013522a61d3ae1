# One job per batch: up to runs_per_job runs of one sampler, replicate by replicate across
# the study's models (essbench.config.batches), one after the other in one process, so
# start-up (interpreter, imports, the sampler's first-use compiles) is paid once and each
# model is built once. Each run is sampled and diagnosed in turn, and its record written
# atomically the moment it finishes; a finished run (a record whose settings hash matches)
# is never recomputed, even when its batch was killed half-way or the batches changed. The
# batch's own output is a manifest of the records it vouches for.


rule sample:
    input:
        unpack(batch_inputs),
    output:
        f"{RESULTS}batches/{{sampler}}/{{batch}}.json",
    log:
        f"{RESULTS}logs/sample/{{sampler}}/{{batch}}.log",
    priority: batch_priority
    group:
        "runs"
    conda:
        sampler_env
    threads: job_threads
    resources:
        mem_mb=run_mem_mb,
        runtime=batch_runtime,
    params:
        runs=batch_runs,
        keep_draws=config["keep_draws"],
        budget_seconds=config["run_budget_seconds"],
        compiledir=COMPILEDIR,
        # The cores a run keeps busy while it samples (its BLAS threads are pinned to it).
        sampler_threads=sampler_threads,
        # true, false or auto (on except under SLURM): resolved in the job, on its machine
        exclusive_sampling=config["exclusive_sampling"],
    script:
        "../../scripts/sample.py"
