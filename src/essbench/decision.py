"""The answer as a decision table (issue 30): per target and dimension, its geometry, the
cheapest gradient-based and the cheapest gradient-free sampler that recovered the truth, the
ratio of their costs per effective sample with a 95% bootstrap interval over replicates,
and the samplers that failed and why; a figure and a paragraph generated from the table.

:func:`table` is a pure function of the runs table, the calibration table (each cost on its
cell's basis, as the verdict's) and a geometry table; :func:`geometry_table` computes that
one from what the targets know of themselves (their exact draws, posteriordb's reference
draws) and is the only part that reads anything.

Words: a sampler *recovered the truth* in a cell where :func:`essbench.verdict.recovery`
says it did not fail (no run's mean more than ``policy.MAX_ERROR_SD`` posterior SD off, at
most half its runs ``biased``: ``policy.bias_verdict``), with at least
``verdict.MIN_REPLICATES`` successful runs. *Gradient-based* is the sampler's declared
``NEEDS_GRADIENT``. The *ratio* is the gradient-free cost ÷ the gradient-based cost: above
1, gradient-based sampling pays.
"""

import numpy as np
import pandas as pd

from essbench import verdict
from essbench.aggregate import contenders, cost_bases
from essbench.metrics import shape_of
from essbench.plots import _order

LEVEL = 0.95
N_BOOT = 2000
# Exact draws the geometry is estimated from (targets with ``sample_truth``).
GEOMETRY_DRAWS = 20_000
GEOMETRY_SEED = 20_261_204
GEOMETRY_COLUMNS = (
    "target",
    "dim",
    "condition_number",
    "tail_kurtosis",
    "modes",
    "geometry_source",
)
COLUMNS = (
    *GEOMETRY_COLUMNS,
    "gradient_sampler",
    "gradient_ms_per_ess",
    "free_sampler",
    "free_ms_per_ess",
    "ratio",
    "ratio_lo",
    "ratio_hi",
    "ratio_bound",
    "replicates",
    "failed",
)
NO_GEOMETRY = "unknown: no exact draws, posteriordb reference draws or reference run"


# --- geometry (reads the targets' draws) --------------------------------------------------


def target_draws(target: str, dim: int, options: dict):
    """Draws from the target's posterior in its parameter space, and where they come from;
    (None, why) where the target has none."""
    from essbench import registry

    plugin = registry.target(target)
    module = plugin.module
    if getattr(module, "sample_truth", None) is not None:
        rng = np.random.RandomState(GEOMETRY_SEED)
        return np.asarray(module.sample_truth(dim, GEOMETRY_DRAWS, rng, **options)), "exact draws"
    if getattr(module, "POSTERIOR", None) and plugin.TRUTH == "posteriordb":
        from essbench.targets._posteriordb import value_space_reference

        x = value_space_reference(module.POSTERIOR, target, dim)
        return x.reshape(-1, x.shape[-1]), "posteriordb reference draws"
    return None, NO_GEOMETRY


def reference_geometry(record: dict) -> tuple[dict | None, str]:
    """The condition number and tail weight the reference rule measured on its draws (in the
    model's value variables), and where they come from; (None, why) where it has none."""
    if record.get("status", "ok") != "ok":
        return None, "unknown: the reference failed its gates"
    if "condition_number" not in record:
        return None, "unknown: its reference record predates the geometry fields (redo it)"
    route = record.get("route") or record.get("method") or "NUTS"
    shape = {k: float(record[k]) for k in ("condition_number", "tail_kurtosis")}
    return shape, f"reference run ({route})"


def geometry(target: str, dim: int, options: dict, reference: dict | None = None) -> dict:
    """One row of the geometry table; ``modes`` is the target's declared ``MODES`` (None:
    not declared); ``reference``: the reference rule's record, for a target whose truth it
    makes."""
    from essbench import registry

    x, source = target_draws(target, dim, options)
    shape = shape_of(x) if x is not None else None
    if shape is None and reference is not None:
        shape, source = reference_geometry(reference)
    if shape is None:
        shape = {"condition_number": np.nan, "tail_kurtosis": np.nan}
    modes = getattr(registry.target(target), "MODES", None)
    return {
        "target": target,
        "dim": int(dim),
        **shape,
        "modes": np.nan if modes is None else int(modes),
        "geometry_source": source,
    }


def geometry_table(cells, options_of, references=None) -> pd.DataFrame:
    """The geometry of every (target, dim) in ``cells``; ``options_of(target)``: its options;
    ``references``: {"target/dim": path of the reference rule's record} where there is one."""
    from essbench import io

    rows = []
    for t, d in cells:
        path = (references or {}).get(f"{t}/{d}")
        rows.append(geometry(t, int(d), options_of(t), io.read_json(path) if path else None))
    return pd.DataFrame(rows, columns=list(GEOMETRY_COLUMNS))


# --- the table (pure) ---------------------------------------------------------------------


def _flag(cell: pd.DataFrame, column: str) -> pd.Series:
    if column not in cell:
        return pd.Series(False, index=cell.index)
    return cell[column].fillna(False).astype(bool)


def _gradient_based(runs: pd.DataFrame) -> dict[str, bool]:
    """Each sampler's declared NEEDS_GRADIENT (the runs' ``gradient_based`` for a sampler no
    longer registered)."""
    from essbench import registry

    out = {}
    for name in runs["sampler"].unique():
        plugin = registry.find_sampler(name)
        if plugin is not None:
            out[name] = bool(plugin.NEEDS_GRADIENT)
        elif "gradient_based" in runs:
            out[name] = bool(runs.loc[runs["sampler"] == name, "gradient_based"].iloc[0])
    return out


def _why_failed(name: str, runs: pd.DataFrame, ok: pd.DataFrame) -> str | None:
    """Why a sampler did not recover the truth in a cell (None: it did)."""
    n = len(runs)
    broken = runs[runs["status"] != "ok"]
    if len(ok) < verdict.MIN_REPLICATES:
        reasons = sorted({str(r).splitlines()[0][:80] for r in broken.get("reason", []) if r})
        why = f"; {'; '.join(reasons)}" if reasons else ""
        return f"{name}: {n - len(ok)} of {n} runs failed{why}"
    rec = verdict.recovery(ok)
    if not rec["failed"]:
        return None
    reasons = []
    if "bias_reason" in ok:
        reasons = [str(r) for r in ok["bias_reason"].dropna() if r]
    error = rec["error_sd"]
    size = f", a mean up to {error:.2g} posterior SD off" if np.isfinite(error) else ""
    why = f" ({verdict.every_reason(reasons)})" if reasons else ""
    return f"{name}: did not recover the truth ({rec['wrong']} of {rec['n']} runs{size}){why}"


def _bound(mine: pd.DataFrame, base: pd.DataFrame) -> str:
    """ "at least"/"at most" where every run of one side is censored (its cost a lower
    bound), as the verdict says it."""
    a, b = _flag(mine, "censored").all(), _flag(base, "censored").all()
    return {(True, False): "at least", (False, True): "at most"}.get((bool(a), bool(b)), "")


def table(
    runs: pd.DataFrame,
    calibration: pd.DataFrame | None = None,
    geometry: pd.DataFrame | None = None,
    seed: int = 0,
) -> pd.DataFrame:
    """The decision table: one row per (target, dim) of the runs (see the module doc)."""
    bases = cost_bases(calibration)
    runs = contenders(runs)
    gradient = _gradient_based(runs)
    geo = {}
    if geometry is not None and len(geometry):
        geo = {(r["target"], int(r["dim"])): r for r in geometry.to_dict("records")}
    rows = []
    for (target, dim), cell in runs.groupby(["target", "dim"], sort=True):
        dim = int(dim)
        best: dict[bool, tuple] = {}
        failed = []
        for name in sorted(cell["sampler"].unique(), key=_order):
            mine = cell[cell["sampler"] == name]
            ok = mine[
                (mine["status"] == "ok")
                & np.isfinite(mine[verdict.METRIC])
                & (mine[verdict.METRIC] > 0)
            ]
            why = _why_failed(name, mine, ok)
            if why:
                failed.append(why)
                continue
            basis = bases.get((name, target, dim), "estimator")
            stat = verdict._statistic(ok, basis)
            cost = float(stat[1](np.arange(stat[0])))
            side = gradient.get(name, False)
            if side not in best or cost < best[side][1]:
                best[side] = (name, cost, stat, ok)
        row = {"target": target, "dim": dim}
        g = geo.get((target, dim), {})
        for key in GEOMETRY_COLUMNS[2:]:
            row[key] = g.get(key, np.nan if key != "geometry_source" else "")
        grad, free = best.get(True), best.get(False)
        row["gradient_sampler"] = grad[0] if grad else ""
        row["gradient_ms_per_ess"] = grad[1] * 1e3 if grad else np.nan
        row["free_sampler"] = free[0] if free else ""
        row["free_ms_per_ess"] = free[1] * 1e3 if free else np.nan
        if grad and free:
            ratio, lo, hi = verdict._bootstrap(free[2], grad[2], N_BOOT, LEVEL, seed)
            row.update(ratio=ratio, ratio_lo=lo, ratio_hi=hi, ratio_bound=_bound(free[3], grad[3]))
            row["replicates"] = int(min(len(free[3]), len(grad[3])))
        else:
            row.update(ratio=np.nan, ratio_lo=np.nan, ratio_hi=np.nan, ratio_bound="")
            row["replicates"] = 0
        row["failed"] = "; ".join(failed)
        rows.append(row)
    return pd.DataFrame(rows, columns=list(COLUMNS))


# --- words --------------------------------------------------------------------------------


def _x(value: float) -> str:
    return f"{value:.3g}×"


def _where(rows: pd.DataFrame) -> str:
    """ "`a` (d = 2), `b` (d = 8)" for the rows given."""
    return ", ".join(f"`{r.target}` (d = {r.dim})" for r in rows.itertuples())


def _span(rows: pd.DataFrame, column: str, fmt="{:.3g}") -> str:
    values = rows[column].dropna()
    if values.empty:
        return "unknown"
    lo, hi = values.min(), values.max()
    return fmt.format(lo) if lo == hi else f"{fmt.format(lo)} to {fmt.format(hi)}"


TEXT_COLUMNS = ("geometry_source", "gradient_sampler", "free_sampler", "ratio_bound", "failed")


def _read(decision: pd.DataFrame) -> pd.DataFrame:
    """The table as written or as read back from CSV (where an empty text is nan)."""
    decision = decision.copy()
    for column in TEXT_COLUMNS:
        values = decision[column].astype(object)  # an all-empty column reads back as float
        decision[column] = values.where(values.notna(), "").astype(str)
    return decision


def paragraph(decision: pd.DataFrame) -> str:
    """The tutorial's question answered from the table alone: where gradient-based sampling
    pays, by how much, and where it does not."""
    decision = _read(decision)
    if decision.empty:
        return "No decision: the study has no runs."
    both = decision[decision["ratio"].notna()]
    pays = both[both["ratio_lo"] > 1]
    loses = both[both["ratio_hi"] < 1]
    even = both[(both["ratio_lo"] <= 1) & (both["ratio_hi"] >= 1)]
    free_none = decision[(decision["gradient_sampler"] != "") & (decision["free_sampler"] == "")]
    grad_none = decision[(decision["gradient_sampler"] == "") & (decision["free_sampler"] != "")]
    neither = decision[(decision["gradient_sampler"] == "") & (decision["free_sampler"] == "")]
    n = len(decision)
    parts = []
    if len(pays):
        parts.append(
            f"Gradient-based sampling paid on {len(pays)} of {n} targets and dimensions (95%"
            f" interval of the ratio above 1): the cheapest gradient-free sampler that"
            f" recovered the truth cost"
            f" {_span(pays, 'ratio')}× (median {pays['ratio'].median():.3g}×) what the cheapest"
            f" gradient-based one did per effective sample, at d = {_span(pays, 'dim', '{:.0f}')}"
            f" and condition numbers {_span(pays, 'condition_number')} ({_where(pays)})."
        )
    else:
        parts.append(f"Gradient-based sampling paid on none of the {n} targets and dimensions.")
    if len(loses):
        parts.append(
            f"It did not on {len(loses)}, where a gradient-free sampler was cheaper (ratio"
            f" {_span(loses, 'ratio')}×, d = {_span(loses, 'dim', '{:.0f}')}, condition"
            f" numbers {_span(loses, 'condition_number')}: {_where(loses)})."
        )
    if len(even):
        parts.append(
            f"On {len(even)} the interval includes 1 (no difference shown: {_where(even)})."
        )
    if len(free_none):
        parts.append(
            f"On {len(free_none)} no gradient-free sampler recovered the truth at all, at d ="
            f" {_span(free_none, 'dim', '{:.0f}')} ({_where(free_none)}): there the question"
            " is not the cost."
        )
    if len(grad_none):
        parts.append(
            f"On {len(grad_none)} no gradient-based sampler recovered it ({_where(grad_none)})."
        )
    if len(neither):
        parts.append(f"On {len(neither)} no sampler recovered it ({_where(neither)}).")
    bounded = both[both["ratio_bound"] != ""]
    if len(bounded):
        parts.append(
            f"{len(bounded)} of these ratios are bounds (every run of one side censored:"
            f" {_where(bounded)})."
        )
    return " ".join(parts)


def headline(decision: pd.DataFrame, link: str) -> str:
    """The README's first screen: the published answer in two sentences, from the decision
    table alone, with a link to its folder (``link``)."""
    decision = _read(decision)
    both = decision[decision["ratio"].notna()]
    pays = both[both["ratio_lo"] > 1]
    loses = both[both["ratio_hi"] < 1]
    even = len(both) - len(pays) - len(loses)
    free_none = decision[(decision["gradient_sampler"] != "") & (decision["free_sampler"] == "")]
    first = (
        f"**The answer** ([{link}]({link})): on {len(decision)} posteriors and dimensions,"
        f" gradient-based sampling paid on {len(pays)}"
    )
    if len(pays):
        first += (
            f", where the cheapest gradient-free sampler that recovered the truth cost"
            f" {pays['ratio'].median():.3g}× (median; {_span(pays, 'ratio')}×) what the"
            " cheapest gradient-based one did per effective sample"
        )
    first += f", and on {len(free_none)} more no gradient-free sampler recovered the truth at all."
    grad_none = decision[(decision["gradient_sampler"] == "") & (decision["free_sampler"] != "")]
    neither = decision[(decision["gradient_sampler"] == "") & (decision["free_sampler"] == "")]
    rest = []
    if len(loses):
        rest.append(
            f"it did not pay on {len(loses)} ({_where(loses)}: ratio {_span(loses, 'ratio')}×)"
        )
    if even:
        rest.append(f"on {even} the 95% interval of the ratio includes 1")
    if len(grad_none):
        rest.append(
            f"on {len(grad_none)} only a gradient-free sampler recovered the truth"
            f" ({_where(grad_none)})"
        )
    if len(neither):
        rest.append(f"on {len(neither)} no sampler recovered it ({_where(neither)})")
    said = "; ".join(rest) if rest else "gradient-free sampling was cheaper on none"
    second = (
        said[0].upper()
        + said[1:]
        + "; the table, the figure and the failures are in the folder's summary."
    )
    return f"{first} {second}"


def _fmt(value, spec="{:.3g}") -> str:
    return (
        "–"
        if value is None or (isinstance(value, float) and not np.isfinite(value))
        else spec.format(value)
    )


def markdown(decision: pd.DataFrame) -> str:
    """The summary's section: the paragraph, then the table."""
    decision = _read(decision)
    lines = [
        "## The answer: gradient-based or gradient-free?\n",
        paragraph(decision) + "\n",
        "Per target: its geometry (condition number κ of the posterior covariance and the"
        " largest excess kurtosis over parameters, from the draws named; modes where the"
        " target declares them), the cheapest gradient-based and gradient-free samplers that"
        " recovered the truth (ms per effective sample, each on its cost basis), and the ratio"
        " gradient-free ÷ gradient-based with its 95% bootstrap interval over replicates"
        " (above 1: gradient-based pays).\n",
        "| target | d | κ | kurtosis | modes | gradient-based | ms/ESS | gradient-free |"
        " ms/ESS | ratio [95%] | failed |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in decision.itertuples():
        ratio = "–"
        if np.isfinite(r.ratio):
            bound = f"{r.ratio_bound} " if r.ratio_bound else ""
            ratio = f"{bound}{r.ratio:.3g}× [{r.ratio_lo:.3g}, {r.ratio_hi:.3g}]"
        lines.append(
            f"| `{r.target}` | {r.dim} | {_fmt(r.condition_number)} |"
            f" {_fmt(r.tail_kurtosis, '{:.2g}')} | {_fmt(r.modes, '{:.0f}')} |"
            f" {r.gradient_sampler or '–'} |"
            f" {_fmt(r.gradient_ms_per_ess)} | {r.free_sampler or '–'} |"
            f" {_fmt(r.free_ms_per_ess)} | {ratio} | {r.failed or '–'} |"
        )
    return "\n".join(lines) + "\n"


# --- figure -------------------------------------------------------------------------------


def figure(decision: pd.DataFrame, outputs, caption: str = ""):
    """Every target by dimension and condition number, coloured by the ratio (log scale,
    centred on 1); open markers: no ratio (one side recovered nothing), κ unknown at 1."""
    decision = _read(decision)
    from matplotlib.colors import LogNorm

    from essbench.plots import _save, pyplot

    plt = pyplot()
    fig, ax = plt.subplots(layout="constrained")
    known = decision[decision["ratio"].notna()]
    kappa = decision["condition_number"].fillna(1.0)
    if len(known):
        spread = float(np.nanmax(np.abs(np.log10(known["ratio"])))) or 1.0
        norm = LogNorm(vmin=10**-spread, vmax=10**spread)
        points = ax.scatter(
            known["dim"],
            kappa[known.index],
            c=known["ratio"],
            cmap="RdBu_r",
            norm=norm,
            edgecolors="0.2",
            linewidths=0.5,
            zorder=3,
        )
        fig.colorbar(points, ax=ax, label="gradient-free ÷ gradient-based\ncost per ESS")
    missing = decision[decision["ratio"].isna()]
    if len(missing):
        ax.scatter(
            missing["dim"],
            kappa[missing.index],
            facecolors="none",
            edgecolors="0.4",
            label="no ratio (one side recovered nothing)",
            zorder=2,
        )
        ax.legend(loc="upper left", fontsize="small")
    for r in decision.itertuples():
        ax.annotate(
            r.target, (r.dim, kappa[r.Index]), fontsize=4, xytext=(2, 2), textcoords="offset points"
        )
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("dimension d")
    ax.set_ylabel("condition number of the posterior covariance\n(unknown: plotted at 1)")
    _save(fig, outputs, caption)
    plt.close(fig)
