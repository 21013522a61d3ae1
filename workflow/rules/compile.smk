# Build each (target, dim) model once and pay PyTensor compilation here, warming the
# shared compile cache that the sampling jobs then read.


rule compile:
    output:
        "results/compile/{target}/d{dim}.json",
    log:
        "results/logs/compile/{target}/d{dim}.log",
    conda:
        "../../envs/sampling.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=30,
    params:
        options=lambda wc: ebconfig.target_options(config, wc.target),
        backend=config["backend"],
        samplers=list(config["samplers"]),
        compiledir=COMPILEDIR,
    script:
        "../../scripts/compile_model.py"


# Targets without closed-form moments (TRUTH = "reference"): long, many-chain NUTS runs
# that must pass strict gates; the diagnose rule compares every run with these moments.
rule reference:
    input:
        model="results/compile/{target}/d{dim}.json",
    output:
        "results/reference/{target}/d{dim}.json",
    log:
        "results/logs/reference/{target}/d{dim}.log",
    conda:
        "../../envs/sampling.yaml"
    threads: 2
    resources:
        mem_mb=4000,
        runtime=120,
    params:
        options=lambda wc: ebconfig.target_options(config, wc.target),
        backend=config["backend"],
        compiledir=COMPILEDIR,
    script:
        "../../scripts/reference.py"
