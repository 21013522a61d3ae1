# essbench: cost per effective sample of MCMC samplers, as a reproducible study.
# Stages live in workflow/rules/; all logic lives in the essbench package (src/essbench).
from snakemake.utils import min_version

min_version("9.0")


# The default study, unless the command line names its own config: a --configfile replaces
# config/config.yaml instead of being merged into it (Snakemake merges nested mappings, so
# the default study's targets and samplers would otherwise leak into every other study).
if not workflow.overwrite_configfiles:

    configfile: "config/config.yaml"


report: "workflow/report/workflow.rst"


include: "workflow/rules/common.smk"
include: "workflow/rules/compile.smk"
include: "workflow/rules/sample.smk"
include: "workflow/rules/aggregate.smk"
include: "workflow/rules/report.smk"


rule all:
    default_target: True
    input:
        final_outputs(),
