"""A standalone ``results/report.html``: one self-contained file (figures inlined as data
URIs, no scripts or styles fetched from anywhere), readable offline."""

import base64
import html
import io
from pathlib import Path

import numpy as np
import pandas as pd

from essbench import io as ebio
from essbench import policy, report
from essbench.aggregate import contenders
from essbench.calibration import oracle_table
from essbench.plots import _order

CSS = """
body { font-family: system-ui, sans-serif; max-width: 60rem; margin: 2rem auto; color: #222;
       line-height: 1.45; padding: 0 1rem; }
table { border-collapse: collapse; margin: 0.8rem 0; font-size: 0.85rem; }
th, td { border-bottom: 1px solid #ddd; padding: 0.2rem 0.6rem; text-align: right; }
th:first-child, td:first-child { text-align: left; }
figure { margin: 1.5rem 0; } figure img { max-width: 100%; }
figcaption { font-size: 0.85rem; color: #444; }
.flag { color: #b00; }
"""


# Figures are inlined at most this wide, in 256 colours: the answer study's 200 figures at
# 300 dpi made a 27 MB report (the files in figures/ keep their full resolution).
REPORT_MAX_WIDTH = 1400


def _png_for_report(path: Path) -> bytes:
    """``path``'s PNG scaled down to :data:`REPORT_MAX_WIDTH` pixels and quantized to a
    256-colour palette (plots have few colours): a tenth of the bytes, the same picture."""
    from PIL import Image

    with Image.open(path) as image:
        image = image.convert("RGB")
        if image.width > REPORT_MAX_WIDTH:
            height = max(1, round(image.height * REPORT_MAX_WIDTH / image.width))
            image = image.resize((REPORT_MAX_WIDTH, height), Image.Resampling.LANCZOS)
        buffer = io.BytesIO()
        image.quantize(colors=256, method=Image.Quantize.MEDIANCUT).save(
            buffer, "PNG", optimize=True
        )
    return buffer.getvalue()


def _img(path: Path, caption: str) -> str:
    data = base64.b64encode(_png_for_report(Path(path))).decode()
    return (
        f'<figure><img alt="{html.escape(Path(path).stem)}" '
        f'src="data:image/png;base64,{data}"><figcaption>{html.escape(caption)}'
        "</figcaption></figure>"
    )


def markdown_html(text: str) -> str:
    """Markdown (the summary's words and tables) as HTML, raw HTML in it escaped."""
    from markdown_it import MarkdownIt

    return MarkdownIt("commonmark", {"html": False}).enable("table").render(text)


def _table(df: pd.DataFrame) -> str:
    df = df.drop(columns=[c for c in ("study", "config_hash", "git_commit") if c in df])
    return df.to_html(index=False, border=0, na_rep="–", float_format=lambda x: f"{x:.3g}")


def headline_table(summary: pd.DataFrame) -> tuple[pd.DataFrame, bool]:
    """ms per effective sample per (target, dim) and sampler, each on its cell's cost basis
    (marked where that is the empirical ESS), and whether any cell is."""
    rows, any_empirical = {}, False
    for r in summary.to_dict("records"):
        if not r.get("n_ok"):
            continue
        cost, _, _, basis = report.headline_cell(pd.Series(r))
        mark = f" {report.EMPIRICAL_MARK}" if basis == "empirical" else ""
        any_empirical |= basis == "empirical"
        rows.setdefault((r["target"], r["dim"]), {})[r["sampler"]] = (
            report.ms_text(cost * 1e3) + mark
        )
    samplers = sorted({s for cells in rows.values() for s in cells}, key=_order)
    table = pd.DataFrame(
        [{"target": t, "dim": d, **cells} for (t, d), cells in sorted(rows.items())],
        columns=["target", "dim", *samplers],
    )
    return table, any_empirical


def quantities_section(cells: pd.DataFrame) -> list[str]:
    """The named quantities: per target, d, quantity and sampler, the median [min–max] ms per
    effective sample of the quantity, its ESS, R-hat and the runs that recovered its truth."""
    rows = []
    for r in cells.to_dict("records"):
        judged = int(r["n_judged"])
        rows.append(
            {
                "target": r["target"],
                "dim": r["dim"],
                "quantity": r["quantity"],
                "sampler": r["sampler"],
                "ms/ESS of the quantity": f"{report.ms_text(r['cost_per_ess_median'] * 1e3)}"
                f" [{report.ms_text(r['cost_per_ess_min'] * 1e3)}–"
                f"{report.ms_text(r['cost_per_ess_max'] * 1e3)}]",
                "bulk ESS": r["ess_bulk_median"],
                "tail ESS": r["ess_tail_median"],
                "R-hat max": r["rhat_max"],
                "unreliable runs": r["n_unreliable"],
                "truth recovered": f"{judged - int(r['n_biased'])}/{judged}"
                if judged
                else "not checked",
            }
        )
    return [
        "<h2>Named quantities</h2>",
        "<p>The config's <code>quantities</code>, measured on every run's draws mapped through"
        " the model: cost per effective sample of the quantity (sampling seconds ÷ its bulk"
        " ESS), median [min–max] over replicates (the verdict for each: summary.md).</p>",
        _table(pd.DataFrame(rows)),
    ]


def flag_figures_section(folder) -> list[str]:
    """The flag figures of ``folder`` (its ``index.json``), one per flagged or censored cell,
    inlined; a cell without one says why. Nothing when no cell is flagged."""
    index = ebio.read_json(Path(folder) / "index.json")["cells"]
    if not index:
        return []
    parts = [
        "<h2 class='flag'>Why runs are flagged: their worst parameter</h2>",
        "<p>For each flagged or censored cell, the trace and the rank plot of one flagged"
        " run's worst parameter for each reason it was flagged, to judge the flag by eye.</p>",
    ]
    for cell in index:
        if cell["figure"]:
            parts.append(_img(Path(folder) / cell["figure"], cell["caption"]))
        else:
            parts.append(f"<p>{html.escape(cell['caption'])}</p>")
    return parts


def build(
    study,
    config_hash,
    runs,
    summary,
    calibration,
    alpha,
    figures,
    captions,
    published,
    baseline=None,
    flag_figures=None,
    quantity_summary=None,
):
    """The report's HTML. ``flag_figures``: the folder of the flag figures (one per flagged
    cell, from ``essbench.flag_figures``), shown below the tables of flagged runs;
    ``quantity_summary``: the named quantities' cells (``tables/quantity_summary.csv``),
    shown after the headline where there are any."""
    ok = runs[runs["status"] == "ok"]
    parts = [
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>",
        f"<title>essbench study {html.escape(study)}</title><style>{CSS}</style></head><body>",
        f"<h1>essbench study <code>{html.escape(study)}</code></h1>",
        f"<p>{len(runs)} runs ({len(ok)} succeeded), config hash <code>{config_hash}</code>, "
        f"git commit <code>{html.escape(str(runs['prov_git_commit'].iloc[0]))}</code>. "
        "Cost per effective sample = sampling seconds (warm-up + draws, compilation "
        "excluded) ÷ ArviZ bulk ESS averaged over parameters; lower is better.</p>",
    ]
    said = report.verdict_section(runs, baseline, calibration) if baseline else ""
    if said:  # the summary's verdict: a table to scan, each shared caveat said once below it
        parts += ["<h2>Verdict</h2>", markdown_html(said)]
    parts.append("<h2>Headline: median ms per effective sample</h2>")
    table, any_empirical = headline_table(summary)
    parts.append(_table(table))
    if any_empirical:
        parts.append(f"<p>{html.escape(report.empirical_basis_note())}</p>")
    if quantity_summary is not None and len(quantity_summary):
        parts += quantities_section(quantity_summary)
    if published:
        sub = ok[(ok["target"] == published["target"]) & (ok["dim"] == published["dim"])]
        rows = []
        for sampler, value in published["ms_per_ess"].items():
            ours = sub.loc[sub["sampler"] == sampler, "cost_per_ess_mean"].median() * 1e3
            rows.append(
                {
                    "sampler": sampler,
                    "published ms/ESS": value,
                    "ours ms/ESS": ours,
                    "ours ÷ published": ours / value,
                }
            )
        parts += [
            f"<h2>The tutorial comparison</h2><p>{html.escape(published['source'])}</p>",
            _table(pd.DataFrame(rows)),
        ]
    parts.append("<h2>Scaling laws: cost ∝ d<sup>α</sup></h2>")
    fitted = alpha[np.isfinite(alpha["alpha"])] if len(alpha) else alpha
    if len(fitted):
        parts.append(_table(fitted.drop(columns=["note"], errors="ignore")))
    unfit = alpha.drop(fitted.index) if len(alpha) else alpha
    if len(unfit):
        parts.append(
            "<p>No exponent fitted"
            + (" for these pairs" if len(fitted) else "")
            + ": a slope says nothing about d-scaling here.</p>"
        )
        parts.append(_table(unfit[["sampler", "target", "n_dims", "note"]]))
    parts.append("<h2>Figures</h2>")
    for path in figures:
        parts.append(_img(path, captions.get(Path(path).stem, "")))
    parts.append("<h2>ESS calibration</h2>")
    parts.append(_table(calibration) if len(calibration) else "<p>No successful runs.</p>")
    bad = runs[runs["status"] != "ok"]
    parts.append("<h2>Failed runs</h2>")
    parts.append(
        _table(bad[["sampler", "target", "dim", "replicate", "reason", "log"]])
        if len(bad)
        else "<p>None.</p>"
    )
    recovered = report.truth_recovered_table(runs)
    if len(recovered):
        parts.append("<h2>Truth recovered</h2>")
        text = report.TRUTH_RECOVERED_TEXT.format(meaning=policy.BIASED_MEANING)
        parts.append(f"<p>{html.escape(text.replace('*', ''))}</p>")
        parts.append(f"<p>{html.escape(report.power_sentence())}</p>")
        parts.append(_table(recovered))
    costed = contenders(ok)
    flagged = (
        costed[costed["unreliable"].fillna(False).astype(bool)]
        if "unreliable" in costed
        else costed.iloc[0:0]
    )
    parts.append("<h2 class='flag'>Unreliable runs</h2>")
    parts.append(
        _table(
            flagged[
                ["sampler", "target", "dim", "replicate", "unreliable_reason"]
                + (["flagged_worst"] if "flagged_worst" in flagged else [])
            ]
        )
        if len(flagged)
        else "<p>None.</p>"
    )
    if "contended" in costed:
        hit = costed[costed["contended"].fillna(False).astype(bool)]
        parts.append("<h2 class='flag'>Runs timed under contention</h2>")
        parts.append(
            _table(hit[["sampler", "target", "dim", "replicate", "contention_reason"]])
            if len(hit)
            else f"<p>{html.escape(report.contention_section(costed).strip())}</p>"
        )
    if "censored" in ok:
        cut = ok[ok["censored"].fillna(False).astype(bool)]
        parts.append("<h2 class='flag'>Censored runs (target ESS not reached)</h2>")
        parts.append(
            _table(
                cut[
                    [
                        "sampler",
                        "target",
                        "dim",
                        "replicate",
                        "ess_bulk_min_at_stop",
                        "time_to_goal_seconds",
                        "censored_reason",
                    ]
                ]
            )
            if len(cut)
            else "<p>None: every run reached the target ESS.</p>"
        )
    if flag_figures is not None:
        parts += flag_figures_section(flag_figures)
    oracle = oracle_table(runs)
    if len(oracle):
        parts.append("<h2>Flags on exact draws (the oracle)</h2>")
        parts.append(
            "<p>Independent exact draws of each target through the same diagnostics: every"
            " flag they raise is a false positive (documented rate: at most"
            f" {policy.NOMINAL_RATE:.0%} per run). Rate per flag; empty where it does not"
            " apply.</p>"
        )
        parts.append(_table(oracle.rename(columns=policy.FLAGS)))
    first = runs.iloc[0]
    prov = {k: first[k] for k in runs.columns if k.startswith(("version_", "prov_"))}
    parts.append("<h2>Machine and packages</h2>")
    parts.append(_table(pd.DataFrame({"key": list(prov), "value": list(prov.values())})))
    parts.append("</body></html>")
    return "\n".join(parts)
