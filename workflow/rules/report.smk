# Figures and the written summary read only the aggregated tables: a change of style
# never re-runs a sampler.


rule figures:
    input:
        runs=f"{RESULTS}tables/runs.parquet",
        calibration=f"{RESULTS}tables/calibration.csv",
    output:
        png=report(
            f"{RESULTS}figures/cost_vs_dim.png",
            caption="../report/cost_vs_dim.rst",
            category="Cost per effective sample",
        ),
        pdf=f"{RESULTS}figures/cost_vs_dim.pdf",
        calibration_png=report(
            f"{RESULTS}figures/ess_calibration.png",
            caption="../report/ess_calibration.rst",
            category="ESS calibration",
        ),
        calibration_pdf=f"{RESULTS}figures/ess_calibration.pdf",
    log:
        f"{RESULTS}logs/figures.log",
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
        runs=f"{RESULTS}tables/runs.parquet",
        summary=f"{RESULTS}tables/summary.csv",
        calibration=f"{RESULTS}tables/calibration.csv",
        decision=f"{RESULTS}tables/decision.csv",
        quantities=f"{RESULTS}tables/quantities.csv",
    output:
        report(
            f"{RESULTS}summary.md",
            caption="../report/summary.rst",
            category="Summary",
        ),
    log:
        f"{RESULTS}logs/summary.log",
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
        baseline=ebconfig.baseline(config),
    script:
        "../../scripts/summary.py"


# Scaling laws (cost per ESS ∝ d^alpha) and numbers for a manuscript: CSV tables, booktabs
# LaTeX tables and a macros file whose every macro names the table row it came from.
rule paper:
    input:
        runs=f"{RESULTS}tables/runs.parquet",
        summary=f"{RESULTS}tables/summary.csv",
    output:
        alpha=f"{RESULTS}tables/alpha.csv",
        speedup=f"{RESULTS}tables/speedup.csv",
        alpha_tex=f"{RESULTS}paper/alpha.tex",
        speedup_tex=f"{RESULTS}paper/speedup.tex",
        macros=f"{RESULTS}paper/macros.tex",
    log:
        f"{RESULTS}logs/paper.log",
    conda:
        "../../envs/analysis.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=20,
    params:
        study=config["study"],
        config_hash=CONFIG_HASH,
        baseline=ebconfig.baseline(config),
    script:
        "../../scripts/paper.py"


rule scaling_figure:
    input:
        runs=f"{RESULTS}tables/runs.parquet",
        alpha=f"{RESULTS}tables/alpha.csv",
    output:
        png=report(
            f"{RESULTS}figures/scaling.png",
            caption="../report/scaling.rst",
            category="Scaling laws",
        ),
        pdf=f"{RESULTS}figures/scaling.pdf",
    log:
        f"{RESULTS}logs/scaling_figure.log",
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


# For each flagged or censored cell, a trace and rank figure of its worst parameter: from the
# worst parameters' draws that the sampling jobs keep for every flagged run (their records
# name the files), so it never re-runs a sampler and needs no keep_draws. The longest of the
# figure jobs (one figure per flagged cell), and the report waits for it: it starts first.
rule flag_figures:
    input:
        runs=f"{RESULTS}tables/runs.parquet",
    output:
        report(
            directory(f"{RESULTS}figures/flagged"),
            patterns=["{name}.png"],
            caption="../report/flag_figures.rst",
            category="Flagged runs",
        ),
    log:
        f"{RESULTS}logs/flag_figures.log",
    priority: 1
    conda:
        "../../envs/plotting.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=20,
    script:
        "../../scripts/flag_figures.py"


# The standalone report: one self-contained HTML file (figures inlined), opens offline.
rule html_report:
    input:
        runs=f"{RESULTS}tables/runs.parquet",
        flag_figures=f"{RESULTS}figures/flagged",
        summary=f"{RESULTS}tables/summary.csv",
        calibration=f"{RESULTS}tables/calibration.csv",
        alpha=f"{RESULTS}tables/alpha.csv",
        quantity_summary=f"{RESULTS}tables/quantity_summary.csv",
        figures=[
            f"{RESULTS}figures/cost_vs_dim.png",
            f"{RESULTS}figures/scaling.png",
            f"{RESULTS}figures/ess_calibration.png",
            f"{RESULTS}figures/ess_per_grad.png",
            f"{RESULTS}figures/speedup.png",
            f"{RESULTS}figures/time_breakdown.png",
            f"{RESULTS}figures/decision.png",
        ],
        captions=[
            workflow.source_path("../report/cost_vs_dim.rst"),
            workflow.source_path("../report/scaling.rst"),
            workflow.source_path("../report/ess_calibration.rst"),
            workflow.source_path("../report/ess_per_grad.rst"),
            workflow.source_path("../report/speedup.rst"),
            workflow.source_path("../report/time_breakdown.rst"),
            workflow.source_path("../report/decision.rst"),
        ],
    output:
        f"{RESULTS}report.html",
    log:
        f"{RESULTS}logs/html_report.log",
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
        baseline=ebconfig.baseline(config),
    script:
        "../../scripts/html_report.py"


rule work_figures:
    input:
        runs=f"{RESULTS}tables/runs.parquet",
        speedup=f"{RESULTS}tables/speedup.csv",
    output:
        ess_per_grad=report(
            f"{RESULTS}figures/ess_per_grad.png",
            caption="../report/ess_per_grad.rst",
            category="Work and speed-up",
        ),
        ess_per_grad_pdf=f"{RESULTS}figures/ess_per_grad.pdf",
        speedup=report(
            f"{RESULTS}figures/speedup.png",
            caption="../report/speedup.rst",
            category="Work and speed-up",
        ),
        speedup_pdf=f"{RESULTS}figures/speedup.pdf",
        time_breakdown=report(
            f"{RESULTS}figures/time_breakdown.png",
            caption="../report/time_breakdown.rst",
            category="Work and speed-up",
        ),
        time_breakdown_pdf=f"{RESULTS}figures/time_breakdown.pdf",
    log:
        f"{RESULTS}logs/work_figures.log",
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
        runs=f"{RESULTS}tables/runs.parquet",
        alpha=f"{RESULTS}tables/alpha.csv",
    output:
        cost=report(
            f"{RESULTS}figures/by_target/{{target}}/cost_vs_dim.png",
            caption="../report/cost_vs_dim.rst",
            category="{target}",
            subcategory="cost per ESS",
        ),
        scaling=report(
            f"{RESULTS}figures/by_target/{{target}}/scaling.png",
            caption="../report/scaling.rst",
            category="{target}",
            subcategory="scaling law",
        ),
    log:
        f"{RESULTS}logs/target_figures/{{target}}.log",
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


# The answer as a decision table (essbench.decision): each target's geometry, from what the
# target knows of itself (its exact or posteriordb reference draws, or what the reference
# rule measured on its draws), then per target the cheapest gradient-based and gradient-free
# samplers that recovered the truth and their ratio.
rule geometry:
    input:
        [ancient(path) for path in geometry_references().values()],
    output:
        f"{RESULTS}tables/geometry.csv",
    log:
        f"{RESULTS}logs/geometry.log",
    conda:
        "../../envs/sampling.yaml"
    threads: 1
    resources:
        mem_mb=4000,
        runtime=30,
    params:
        cells=geometry_cells(),
        target_options=all_target_options(),
        references=geometry_references(),
    script:
        "../../scripts/geometry.py"


rule decision:
    input:
        runs=f"{RESULTS}tables/runs.parquet",
        calibration=f"{RESULTS}tables/calibration.csv",
        geometry=f"{RESULTS}tables/geometry.csv",
    output:
        table=f"{RESULTS}tables/decision.csv",
        png=report(
            f"{RESULTS}figures/decision.png",
            caption="../report/decision.rst",
            category="The answer",
        ),
        pdf=f"{RESULTS}figures/decision.pdf",
    log:
        f"{RESULTS}logs/decision.log",
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
        "../../scripts/decision.py"
