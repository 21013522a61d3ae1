# Figures and the written summary read only the aggregated tables: a change of style
# never re-runs a sampler.


rule figures:
    input:
        runs="results/tables/runs.parquet",
        calibration="results/tables/calibration.csv",
    output:
        png=report(
            "results/figures/cost_vs_dim.png",
            caption="../report/cost_vs_dim.rst",
            category="Cost per effective sample",
        ),
        pdf="results/figures/cost_vs_dim.pdf",
        calibration_png=report(
            "results/figures/ess_calibration.png",
            caption="../report/ess_calibration.rst",
            category="ESS calibration",
        ),
        calibration_pdf="results/figures/ess_calibration.pdf",
    log:
        "results/logs/figures.log",
    conda:
        "../../envs/plotting.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=20,
    params:
        study=config["study"],
        config_hash=CONFIG_HASH,
    script:
        "../../scripts/figures.py"


rule summary:
    input:
        runs="results/tables/runs.parquet",
        summary="results/tables/summary.csv",
        calibration="results/tables/calibration.csv",
    output:
        report(
            "results/summary.md",
            caption="../report/summary.rst",
            category="Summary",
        ),
    log:
        "results/logs/summary.log",
    conda:
        "../../envs/analysis.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=20,
    params:
        study=config["study"],
        config_hash=CONFIG_HASH,
        published=config.get("published"),
    script:
        "../../scripts/summary.py"


# Scaling laws (cost per ESS ∝ d^alpha) and numbers for a manuscript: CSV tables, booktabs
# LaTeX tables and a macros file whose every macro names the table row it came from.
rule paper:
    input:
        runs="results/tables/runs.parquet",
        summary="results/tables/summary.csv",
    output:
        alpha="results/tables/alpha.csv",
        speedup="results/tables/speedup.csv",
        alpha_tex="results/paper/alpha.tex",
        speedup_tex="results/paper/speedup.tex",
        macros="results/paper/macros.tex",
    log:
        "results/logs/paper.log",
    conda:
        "../../envs/analysis.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=20,
    params:
        study=config["study"],
        config_hash=CONFIG_HASH,
    script:
        "../../scripts/paper.py"


rule scaling_figure:
    input:
        runs="results/tables/runs.parquet",
        alpha="results/tables/alpha.csv",
    output:
        png=report(
            "results/figures/scaling.png",
            caption="../report/scaling.rst",
            category="Scaling laws",
        ),
        pdf="results/figures/scaling.pdf",
    log:
        "results/logs/scaling_figure.log",
    conda:
        "../../envs/plotting.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=20,
    params:
        study=config["study"],
        config_hash=CONFIG_HASH,
    script:
        "../../scripts/scaling_figure.py"
