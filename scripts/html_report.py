"""Snakemake adapter: the standalone results/report.html."""

from essbench.runtime import finish, start

start(snakemake)  # noqa: F821 - injected by Snakemake

from pathlib import Path  # noqa: E402

import pandas as pd  # noqa: E402

from essbench import html_report, io  # noqa: E402

inp, params = snakemake.input, snakemake.params  # noqa: F821
captions = {
    Path(p).stem: Path(c).read_text().replace("\n", " ")
    for p, c in zip(inp.figures, inp.captions, strict=True)
}
text = html_report.build(
    study=params.study,
    config_hash=params.config_hash,
    runs=pd.read_parquet(inp.runs),
    summary=pd.read_csv(inp.summary),
    calibration=pd.read_csv(inp.calibration),
    alpha=pd.read_csv(inp.alpha),
    figures=list(inp.figures),
    captions=captions,
    published=params.published,
    baseline=params.baseline,
    flag_figures=inp.flag_figures,
    quantity_summary=pd.read_csv(inp.quantity_summary),
)
io.write_text(snakemake.output[0], text)  # noqa: F821
finish()  # outputs written: skip the interpreter teardown
