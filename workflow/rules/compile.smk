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
