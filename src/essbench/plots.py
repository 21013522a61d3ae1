"""Figures, drawn from the aggregated tables only (never from draws).

Every figure uses ``essbench.mplstyle`` (single-column width, fonts embedded in the PDF)
and the fixed Okabe-Ito colour of each sampler, and is saved as PDF and PNG.
"""

from pathlib import Path

import numpy as np
import pandas as pd

from essbench.aggregate import contenders, is_oracle

STYLE = Path(__file__).with_name("essbench.mplstyle")


def pyplot():
    """matplotlib.pyplot on the Agg backend with the essbench style applied."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    plt.style.use(str(STYLE))
    return plt


# Okabe-Ito colour-blind-safe palette (and grey), then Paul Tol's "muted" set: shipped
# samplers declare their colour (COLOR) from the first; a figure gives any sampler whose
# colour is undeclared or already taken the first colour of this list no one in it uses.
PALETTE = [
    "#0072B2",
    "#E69F00",
    "#009E73",
    "#D55E00",
    "#CC79A7",
    "#56B4E9",
    "#F0E442",
    "#000000",
    "#999999",
    "#332288",
    "#88CCEE",
    "#44AA99",
    "#117733",
    "#999933",
    "#DDCC77",
    "#CC6677",
    "#882255",
    "#AA4499",
]
COST_LABELS = {
    "cost_per_ess_mean": "ms per effective sample\n(bulk ESS, mean over parameters; nested: Kish)",
    "cost_per_ess_min": "ms per effective sample\n(bulk ESS, worst parameter; nested: Kish)",
}


def _declared(name: str):
    from essbench import registry

    plugin = registry.find_sampler(name)
    if plugin is None:
        return None, "o", True
    return plugin.COLOR, plugin.MARKER, bool(plugin.NEEDS_GRADIENT)


def colours(names) -> dict[str, str]:
    """A colour per sampler of one figure, never the same for two: its declared ``COLOR``
    unless undeclared or taken by a sampler earlier in the figure's order, else the first
    unused palette colour (past the palette, matplotlib's tab20, then grey)."""
    out, used = {}, set()
    names = sorted(set(names), key=_order)
    for name in names:
        colour = _declared(name)[0]
        if colour is not None and colour.lower() not in used:
            out[name] = colour
            used.add(colour.lower())
    spare = [c for c in PALETTE if c.lower() not in used]
    if len(spare) < len(names):
        import matplotlib.colors

        tab = [matplotlib.colors.to_hex(c) for c in matplotlib.colormaps["tab20"].colors]
        spare += [c for c in tab if c.lower() not in used and c not in spare]
    for name in names:
        if name not in out:
            out[name] = spare.pop(0) if spare else "#777777"
    return out


def marker(name: str) -> str:
    return _declared(name)[1]


def cost_vs_dim(runs: pd.DataFrame, outputs, caption: str = ""):
    """Cost per ESS against dimension, log-log: median line, min-max band across replicates.

    Hollow markers show a (sampler, dim) whose runs include one flagged unreliable; upward
    triangles one censored in ESS-goal mode (its time is a lower bound).
    """
    runs = contenders(runs)  # oracles have no cost to show
    plt = pyplot()
    colour_of = colours(runs["sampler"].unique())

    ok = runs[runs["status"] == "ok"].copy()
    targets = sorted(runs["target"].unique())
    metrics = list(COST_LABELS)
    # A target's panels side by side, two targets to a row (MAX_COLUMNS panels).
    per_row = max(1, MAX_COLUMNS // len(metrics))
    fig, panels, axes = _panels(
        plt, len(targets) * len(metrics), 3.5, 2.9, max_columns=len(metrics) * per_row
    )
    for index, target in enumerate(targets):
        sub = ok[ok["target"] == target]
        for col, metric in enumerate(metrics):
            ax = panels[index * len(metrics) + col]
            for sampler in sorted(sub["sampler"].unique(), key=_order):
                s = sub[sub["sampler"] == sampler]
                g = s.groupby("dim")[metric]
                dims = np.array(sorted(s["dim"].unique()))
                med = g.median().loc[dims].to_numpy() * 1e3
                lo = g.min().loc[dims].to_numpy() * 1e3
                hi = g.max().loc[dims].to_numpy() * 1e3
                colour = colour_of[sampler]
                ax.fill_between(dims, lo, hi, color=colour, alpha=0.2, linewidth=0)
                ax.plot(dims, med, "-", color=colour, label=sampler)
                flagged = _any(s, "unreliable", dims)
                cut = _any(s, "censored", dims)
                for marker, keep in (("o", ~cut), ("^", cut)):
                    on, off = keep & ~flagged, keep & flagged
                    ax.plot(dims[on], med[on], marker, color=colour, ms=4)
                    ax.plot(dims[off], med[off], marker, mfc="white", mec=colour, ms=5, mew=1.2)
            ax.set_xscale("log", base=2)
            ax.set_yscale("log")
            ax.set_xlabel("dimension d")
            ax.set_ylabel(COST_LABELS[metric], fontsize=8)
            ax.set_title(target, fontsize=9)
            ax.grid(True, which="major", alpha=0.3)
    _legend(fig, axes)
    _save(fig, outputs, caption)
    plt.close(fig)


def _any(runs: pd.DataFrame, flag: str, dims) -> np.ndarray:
    """Per dim (in ``dims`` order): whether any run there has ``flag`` set."""
    if flag not in runs:
        return np.zeros(len(dims), bool)
    return runs[flag].fillna(False).astype(bool).groupby(runs["dim"]).any().loc[dims].to_numpy()


def _order(name: str):
    """Figure and table order: gradient-based samplers first, then by name."""
    return (not _declared(name)[2], name)


def ess_calibration(cal: pd.DataFrame, outputs, caption: str = ""):
    """Estimator ESS ÷ empirical ESS against dimension, with its interval, per sampler.

    The oracle (``exact``: independent draws, whose ESS is honest) is the reference, not a
    series: a grey band of its 95% interval and its ratio per dimension, beside the ideal 1
    (dashed). A sampler whose interval sits inside the band is as honest as a perfect
    sampler looks at this number of replicates.
    """
    plt = pyplot()
    oracle = cal["sampler"].map(is_oracle).astype(bool) if len(cal) else pd.Series(dtype=bool)
    reference, samplers_cal = (cal[oracle], cal[~oracle]) if len(cal) else (cal, cal)
    colour_of = colours(samplers_cal["sampler"].unique() if len(samplers_cal) else [])

    targets = sorted(cal["target"].unique()) if len(cal) else ["(no successful runs)"]
    fig, panels, axes = _panels(plt, len(targets), 3.5, 2.9)
    for ax, target in zip(panels, targets, strict=True):
        _oracle_reference(ax, reference[reference["target"] == target] if len(cal) else cal)
        sub = samplers_cal[samplers_cal["target"] == target] if len(cal) else cal
        samplers = sorted(sub["sampler"].unique(), key=_order) if len(sub) else []
        offsets = np.linspace(-0.08, 0.08, max(len(samplers), 1))
        for offset, sampler in zip(offsets, samplers, strict=False):
            s = sub[sub["sampler"] == sampler].sort_values("dim")
            x = s["dim"].to_numpy() * 2.0**offset
            y = s["ratio"].to_numpy()
            err = np.vstack([y - s["ratio_lo"].to_numpy(), s["ratio_hi"].to_numpy() - y])
            err = np.where(np.isfinite(err), err, np.nan)  # an unbounded end: no bar there
            ax.errorbar(
                x,
                y,
                yerr=err,
                fmt=marker(sampler) + "-",
                ms=4,
                capsize=2,
                lw=1,
                color=colour_of[sampler],
                label=sampler,
            )
        ax.axhline(1.0, color="0.3", lw=0.8, ls="--")
        ax.set_xscale("log", base=2)
        ax.set_yscale("log")
        ax.set_xlabel("dimension d")
        ax.set_ylabel("estimator ESS ÷ empirical ESS\n(bulk ESS; 95% interval)", fontsize=8)
        ax.set_title(target, fontsize=9)
        ax.grid(True, alpha=0.3)
    _legend(fig, axes)
    _save(fig, outputs, caption)
    plt.close(fig)


ORACLE_COLOUR = "0.55"


def oracle_misses(reference: pd.DataFrame) -> list[int]:
    """The dimensions where the oracle's 95% interval of estimator ÷ empirical ESS excludes
    1 (exact draws: it should not, but does in 5% of studies, as
    benchmarks/basis_calibration.py measures)."""
    if not len(reference):
        return []
    r = reference.groupby("dim")[["ratio_lo", "ratio_hi"]].mean()
    return [int(d) for d, row in r.iterrows() if row["ratio_lo"] > 1 or row["ratio_hi"] < 1]


def _oracle_reference(ax, reference: pd.DataFrame):
    """The oracle's ratio (grey line) and 95% interval (grey band) across dimensions; a
    single dimension is drawn as a band across the panel."""
    if not len(reference):
        return
    label = f"{', '.join(sorted(reference['sampler'].unique()))} (oracle): reference"
    r = reference.groupby("dim")[["ratio", "ratio_lo", "ratio_hi"]].mean().sort_index()
    dims = r.index.to_numpy(float)
    missed = oracle_misses(reference)
    if missed:  # the band should hold 1: say why it does not, on the panel
        ax.text(
            0.02,
            0.02,
            f"oracle's interval misses 1 at d = {', '.join(map(str, missed))}:\n"
            "a 95% interval does so in 5% of studies",
            transform=ax.transAxes,
            fontsize=6,
            color="0.3",
            va="bottom",
        )
    if len(dims) == 1:
        ax.axhspan(r["ratio_lo"].iloc[0], r["ratio_hi"].iloc[0], color=ORACLE_COLOUR, alpha=0.25)
        ax.axhline(r["ratio"].iloc[0], color=ORACLE_COLOUR, lw=1.2, label=label)
        return
    ax.fill_between(dims, r["ratio_lo"], r["ratio_hi"], color=ORACLE_COLOUR, alpha=0.25, lw=0)
    ax.plot(dims, r["ratio"], "-", color=ORACLE_COLOUR, lw=1.2, label=label)


def scaling(runs: pd.DataFrame, alpha: pd.DataFrame, outputs, caption: str = ""):
    """Reliable runs and the fitted power laws, per target, with textbook slopes."""
    runs = contenders(runs)  # oracles have no cost to show
    plt = pyplot()
    colour_of = colours(runs["sampler"].unique())

    from essbench.scaling import METRIC, _usable, textbook_alpha

    good = runs[_usable(runs)]
    targets = sorted(runs["target"].unique())
    ncols = min(len(targets), 3)
    nrows = -(-len(targets) // ncols)
    fig, axes = plt.subplots(
        nrows, ncols, figsize=(3.4 * ncols, 2.9 * nrows), squeeze=False, constrained_layout=True
    )
    for ax, target in zip(axes.flat, targets, strict=False):
        sub = good[good["target"] == target]
        for sampler in sorted(sub["sampler"].unique(), key=_order):
            s = sub[sub["sampler"] == sampler]
            colour = colour_of[sampler]
            ax.plot(s["dim"], s[METRIC] * 1e3, marker(sampler), ms=3, color=colour, alpha=0.7)
            fitrow = alpha[(alpha["sampler"] == sampler) & (alpha["target"] == target)]
            if fitrow.empty or not np.isfinite(fitrow["alpha"].iloc[0]):
                continue
            r = fitrow.iloc[0]
            d = np.geomspace(s["dim"].min(), s["dim"].max(), 20)
            ax.plot(
                d,
                1e3 * r["prefactor_s"] * d ** r["alpha"],
                "-",
                color=colour,
                label=f"{sampler}: α={r['alpha']:.2f} [{r['alpha_lo']:.2f}, {r['alpha_hi']:.2f}]",
            )
            textbook = textbook_alpha(sampler)
            if np.isfinite(textbook):
                d0 = d[0]
                y0 = 1e3 * r["prefactor_s"] * d0 ** r["alpha"]
                ax.plot(d, y0 * (d / d0) ** textbook, ":", color="0.5", lw=1)
        ax.set_xscale("log", base=2)
        ax.set_yscale("log")
        ax.set_xlabel("dimension d")
        ax.set_ylabel("ms per effective sample\n(bulk ESS, mean)", fontsize=8)
        ax.set_title(target, fontsize=9)
        ax.grid(True, alpha=0.3)
        if ax.get_legend_handles_labels()[0]:
            ax.legend(fontsize=5, frameon=False)
        notes = alpha.loc[alpha["target"] == target, "note"] if "note" in alpha else []
        notes = sorted({n for n in notes if isinstance(n, str) and n})
        if notes and not ax.get_legend_handles_labels()[0]:
            ax.text(
                0.5,
                0.5,
                "no scaling fit:\n" + "\n".join(notes),
                transform=ax.transAxes,
                ha="center",
                va="center",
                fontsize=6,
                wrap=True,
            )
    for ax in list(axes.flat)[len(targets) :]:
        ax.set_visible(False)
    _save(fig, outputs, caption + "; dotted: textbook slopes" if caption else "")
    plt.close(fig)


def _legend(fig, axes):
    handles, labels = axes[0][0].get_legend_handles_labels()
    if handles:
        fig.legend(handles, labels, loc="outside lower center", ncol=min(len(labels), 4))


def _save(fig, outputs, caption):
    if caption:
        fig.text(0.01, 1.0, caption, fontsize=5, va="bottom", ha="left", color="0.4")
    for path in outputs:
        fig.savefig(path, metadata={"Title": caption} if str(path).endswith(".pdf") else None)


# Panels per row in a figure with one panel per target: the answer study's 20 targets in one
# row made figures 15,000-21,000 pixels wide.
MAX_COLUMNS = 4


def _panels(plt, n: int, width: float, height: float, max_columns: int = MAX_COLUMNS):
    """A figure of ``n`` panels (at least one) in rows of at most ``max_columns``, the unused
    axes hidden: ``(fig, panels, grid)``, ``panels`` the ``n`` axes in reading order and
    ``grid`` the rows of axes (for :func:`_legend`)."""
    n = max(n, 1)
    columns = min(n, max_columns)
    rows = -(-n // columns)
    fig, grid = plt.subplots(
        rows,
        columns,
        figsize=(width * columns, height * rows),
        squeeze=False,
        constrained_layout=True,
    )
    flat = [ax for row in grid for ax in row]
    for ax in flat[n:]:
        ax.set_visible(False)
    return fig, flat[:n], grid


def ess_per_grad(runs: pd.DataFrame, outputs, caption: str = ""):
    """Bulk ESS per gradient evaluation against dimension (gradient-based samplers)."""
    runs = contenders(runs)  # oracles have no cost to show
    plt = pyplot()
    colour_of = colours(runs["sampler"].unique())
    ok = runs[(runs["status"] == "ok") & (runs["grad_evals"].fillna(0) > 0)]
    targets = sorted(runs["target"].unique())
    fig, panels, axes = _panels(plt, len(targets), 2.6, 2.4)
    for ax, target in zip(panels, targets, strict=True):
        sub = ok[ok["target"] == target]
        for sampler in sorted(sub["sampler"].unique(), key=_order):
            g = sub[sub["sampler"] == sampler].groupby("dim")["ess_per_grad"]
            dims = np.array(sorted(g.groups))
            ax.fill_between(
                dims,
                g.min().loc[dims],
                g.max().loc[dims],
                color=colour_of[sampler],
                alpha=0.2,
                lw=0,
            )
            ax.plot(
                dims,
                g.median().loc[dims],
                marker(sampler) + "-",
                color=colour_of[sampler],
                label=sampler,
            )
        ax.set_xscale("log", base=2)
        ax.set_yscale("log")
        ax.set_xlabel("dimension d")
        ax.set_ylabel("bulk ESS per gradient evaluation")
        ax.set_title(target)
    if ok.empty:
        axes[0][0].text(
            0.5, 0.5, "no gradient-based runs", ha="center", transform=axes[0][0].transAxes
        )
    _legend(fig, axes)
    _save(fig, outputs, caption)
    plt.close(fig)


def speedup(speedups: pd.DataFrame, outputs, caption: str = ""):
    """Speed-up of each sampler over the study's baseline, median cost ratio, per dimension."""
    plt = pyplot()
    colour_of = colours(speedups["sampler"].unique() if len(speedups) else [])
    targets = sorted(speedups["target"].unique()) or ["(no baseline runs)"]
    fig, panels, axes = _panels(plt, len(targets), 2.6, 2.4)
    for ax, target in zip(panels, targets, strict=True):
        sub = speedups[speedups["target"] == target]
        for sampler in sorted(sub["sampler"].unique(), key=_order):
            s = sub[sub["sampler"] == sampler].sort_values("dim")
            ax.plot(
                s["dim"],
                s["speedup"],
                marker(sampler) + "-",
                color=colour_of[sampler],
                label=sampler,
            )
        ax.axhline(1.0, color="0.3", lw=0.8, ls="--")
        ax.set_xscale("log", base=2)
        ax.set_yscale("log")
        ax.set_xlabel("dimension d")
        base = sub["baseline"].iloc[0] if len(sub) else "emcee"
        ax.set_ylabel(f"speed-up over {base}\n(ratio of ms per ESS)")
        ax.set_title(target)
    _legend(fig, axes)
    _save(fig, outputs, caption)
    plt.close(fig)


def time_breakdown(runs: pd.DataFrame, outputs, caption: str = ""):
    """Median seconds per run in model build, compile, warm-up and draws, per sampler, at
    the largest dimension of each target."""
    runs = contenders(runs)  # oracles have no cost to show
    plt = pyplot()
    ok = runs[runs["status"] == "ok"]
    parts = ["build_seconds", "compile_seconds", "warmup_seconds", "draw_seconds"]
    colours = ["#BBBBBB", "#777777", "#E69F00", "#0072B2"]
    targets = sorted(ok["target"].unique())
    fig, panels, axes = _panels(plt, len(targets), 2.6, 2.4)
    for ax, target in zip(panels, targets, strict=False):
        sub = ok[
            (ok["target"] == target) & (ok["dim"] == ok.loc[ok["target"] == target, "dim"].max())
        ]
        samplers = sorted(sub["sampler"].unique(), key=_order)
        med = sub.groupby("sampler")[parts].median().reindex(samplers).fillna(0.0)
        left = np.zeros(len(samplers))
        for part, colour in zip(parts, colours, strict=True):
            ax.barh(
                samplers, med[part], left=left, color=colour, label=part.removesuffix("_seconds")
            )
            left += med[part].to_numpy()
        ax.set_xlabel("seconds per run (median)")
        ax.set_title(f"{target}, d = {sub['dim'].max()}")
        ax.grid(False, axis="y")
    _legend(fig, axes)
    _save(fig, outputs, caption)
    plt.close(fig)
