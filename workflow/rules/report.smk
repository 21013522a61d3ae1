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


# The standalone report: one self-contained HTML file (figures inlined), opens offline.
rule html_report:
    input:
        runs="results/tables/runs.parquet",
        summary="results/tables/summary.csv",
        calibration="results/tables/calibration.csv",
        alpha="results/tables/alpha.csv",
        figures=[
            "results/figures/cost_vs_dim.png",
            "results/figures/scaling.png",
            "results/figures/ess_calibration.png",
            "results/figures/ess_per_grad.png",
            "results/figures/speedup.png",
            "results/figures/time_breakdown.png",
        ],
        captions=[
            workflow.source_path("../report/cost_vs_dim.rst"),
            workflow.source_path("../report/scaling.rst"),
            workflow.source_path("../report/ess_calibration.rst"),
            workflow.source_path("../report/ess_per_grad.rst"),
            workflow.source_path("../report/speedup.rst"),
            workflow.source_path("../report/time_breakdown.rst"),
        ],
    output:
        "results/report.html",
    log:
        "results/logs/html_report.log",
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
        "../../scripts/html_report.py"


rule work_figures:
    input:
        runs="results/tables/runs.parquet",
        speedup="results/tables/speedup.csv",
    output:
        ess_per_grad=report(
            "results/figures/ess_per_grad.png",
            caption="../report/ess_per_grad.rst",
            category="Work and speed-up",
        ),
        ess_per_grad_pdf="results/figures/ess_per_grad.pdf",
        speedup=report(
            "results/figures/speedup.png",
            caption="../report/speedup.rst",
            category="Work and speed-up",
        ),
        speedup_pdf="results/figures/speedup.pdf",
        time_breakdown=report(
            "results/figures/time_breakdown.png",
            caption="../report/time_breakdown.rst",
            category="Work and speed-up",
        ),
        time_breakdown_pdf="results/figures/time_breakdown.pdf",
    log:
        "results/logs/work_figures.log",
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
        "../../scripts/work_figures.py"


# The same figures, one set per target, so that `snakemake --report` groups them by target.
rule target_figures:
    input:
        runs="results/tables/runs.parquet",
        alpha="results/tables/alpha.csv",
    output:
        cost=report(
            "results/figures/by_target/{target}/cost_vs_dim.png",
            caption="../report/cost_vs_dim.rst",
            category="{target}",
            subcategory="cost per ESS",
        ),
        scaling=report(
            "results/figures/by_target/{target}/scaling.png",
            caption="../report/scaling.rst",
            category="{target}",
            subcategory="scaling law",
        ),
    log:
        "results/logs/target_figures/{target}.log",
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
        "../../scripts/target_figures.py"
