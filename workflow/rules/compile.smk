# Build each (target, dim, target options, backend) model once and pay PyTensor compilation
# here, warming the shared compile cache that the sampling jobs then read. Shared between
# studies (results/shared/): keyed by what the model depends on, never by the samplers.


rule compile:
    output:
        f"{SHARED}compile/{{target}}/d{{dim}}/{{options}}.{{backend}}.json",
    log:
        f"{SHARED}logs/compile/{{target}}/d{{dim}}/{{options}}.{{backend}}.log",
    priority: compile_priority
    conda:
        target_env
    threads: 1
    resources:
        mem_mb=2000,
        runtime=30,
    params:
        options=lambda wc: ebconfig.target_options_by_key(config, wc.target, wc.options),
        compiledir=COMPILEDIR,
    script:
        "../../scripts/compile_model.py"


# Compile each (target, dim, options) Stan program once, for the samplers that run the
# target's Stan program (STAN_MODEL, e.g. stan_nuts): into httpstan's cache under
# results/shared/stan, which their runs then only read. Keyed by the model, never by the
# samplers; the record holds the program's and the data's hashes and the build time.
rule compile_stan:
    output:
        f"{STANDIR}/{{target}}/d{{dim}}/{{options}}.json",
    log:
        f"{SHARED}logs/compile_stan/{{target}}/d{{dim}}/{{options}}.log",
    priority: compile_priority
    conda:
        "../../envs/stan.yaml"
    threads: 1
    resources:
        mem_mb=4000,
        runtime=30,
    params:
        options=lambda wc: ebconfig.target_options_by_key(config, wc.target, wc.options),
    script:
        "../../scripts/compile_stan.py"


# Targets without closed-form moments (TRUTH = "reference"): long, many-chain NUTS runs
# (and the target's reference_model, and the config's reference_draws, where given) that
# must pass strict gates; every run is compared with these moments. Shared between
# studies, keyed by target, dimension and target options. A reference is one long job that
# every batch of its target waits for: it starts before the other ready jobs (priority:
# essbench.schedule counts it at a quarter of the minutes it asks a cluster for).
rule reference:
    input:
        model=lambda wc: compile_path(wc.target, wc.dim),
    output:
        f"{SHARED}reference/{{target}}/d{{dim}}/{{options}}.json",
    log:
        f"{SHARED}logs/reference/{{target}}/d{{dim}}/{{options}}.log",
    priority: reference_priority
    conda:
        target_env
    threads: 2
    resources:
        mem_mb=4000,
        runtime=lambda wc: registry.target(wc.target).REFERENCE_MINUTES,
    params:
        options=lambda wc: ebconfig.target_options_by_key(config, wc.target, wc.options),
        backend=config["backend"],
        compiledir=COMPILEDIR,
        # The user's reference draws (resolved; None: none given): the route user_draws.
        reference_draws=lambda wc: ebconfig.reference_draws_path(config, wc.target),
    script:
        "../../scripts/reference.py"
