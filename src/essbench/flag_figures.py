"""See why a run is flagged: the draws of its worst parameter, and a small trace and rank
figure of them (through ``arviz-plots``) for each flagged or censored cell of the study.

A run's draws live only in the memory of the sampling job unless ``keep_draws`` is on, and
a figure rule may read only what exists. So the sampling job itself keeps, for every run it
flags or censors, the draws of that run's worst parameter for each reason it was flagged
(a few chains x draws blocks: at most ``MAX_CHAINS`` chains, thinned to at most
``MAX_DRAWS`` draws) in ``flagged_draws/<run>.nc`` (an ArviZ ``DataTree``), and names the
file in the run's record (``flagged_draws_path``). The figure rule reads the runs table and
those files, never a sampler: a change of figure never re-runs MCMC.
"""

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd

from essbench import io, policy

# What makes a parameter the worst for each reason a run is flagged: (per-parameter
# statistic, whether the largest or the smallest is worst, what the figure says).
WORST = {
    "flag_rhat": ("rhat", max, "largest rank R-hat"),
    "flag_chain_tau": ("tau", max, "longest autocorrelation time τ"),
    # divergences belong to transitions, not to a parameter: show the worst-mixing one
    "flag_divergences": ("ess_bulk", min, "smallest bulk ESS, divergent draws marked"),
    "biased": ("z_mean", max, "largest |z| of its mean against the truth"),
    "censored": ("ess_bulk", min, "smallest bulk ESS, which the ESS goal waits for"),
}
REASON_TEXT = {**policy.FLAGS, "censored": "censored (ESS goal not reached)"}
# What is kept of a flagged run: enough to see its chains, small enough to keep always.
MAX_CHAINS = 8
MAX_DRAWS = 1000


def _set(value) -> bool:
    """Whether a flag's value (True/False, None where not assessable, nan in a table) is set."""
    return (
        value is not None and not (isinstance(value, float) and math.isnan(value)) and bool(value)
    )


def reasons(record: dict) -> list[str]:
    """The reasons (``WORST``'s keys) a diagnosed run is flagged or censored, in order."""
    return [flag for flag in WORST if _set(record.get(flag))]


def parameter_labels(names, shapes, slices) -> list[str]:
    """A label per flat parameter: the value variable's name, indexed where it is not a
    scalar (``x[3]``, ``L[1,0]``, ``sigma_log__``)."""
    labels = []
    for name, shape, sl in zip(names, shapes, slices, strict=True):
        if not shape:
            labels.append(name)
            continue
        for flat in range(sl.stop - sl.start):
            index = np.unravel_index(flat, shape)
            labels.append(f"{name}[{','.join(str(int(i)) for i in index)}]")
    return labels


def statistics(record: dict, draws: np.ndarray, threads: int = 1) -> dict[str, np.ndarray]:
    """The per-parameter statistics ``WORST`` ranks by: the diagnostics' own (bulk ESS,
    rank R-hat, τ for ensembles) and the mean's |z| against the record's true mean."""
    from essbench import metrics

    per = metrics.per_parameter_once(draws, threads, walkers=bool(record.get("ensemble")))
    if record.get("truth_mean") is not None:
        error = per["mean"] - np.asarray(record["truth_mean"], float)
        per["z_mean"] = np.abs(error) / per["mcse_mean"]
    return per


def worst_parameters(record: dict, per: dict[str, np.ndarray]) -> dict[str, int]:
    """The index of the worst parameter for each reason the run is flagged."""
    out = {}
    for flag in reasons(record):
        stat, pick, _ = WORST[flag]
        values = per.get(stat)
        if values is None or not np.isfinite(values).any():
            continue
        finite = np.where(np.isfinite(values), values, -np.inf if pick is max else np.inf)
        out[flag] = int(np.argmax(finite) if pick is max else np.argmin(finite))
    return out


def keep(path, record: dict, draws: np.ndarray, labels, sample_stats=None, threads=1) -> dict:
    """Write the worst parameters' draws of a flagged run to ``path``; return the record's
    fields that name them (nothing for a run that is neither flagged nor censored)."""
    from arviz_base import from_dict

    if not reasons(record):
        return {}
    per = statistics(record, draws, threads)
    worst = worst_parameters(record, per)
    if not worst:
        return {}
    chains, n_draws = draws.shape[:2]
    stride = max(1, math.ceil(n_draws / MAX_DRAWS))
    kept = slice(0, min(chains, MAX_CHAINS)), slice(None, None, stride)
    params = []
    for index in dict.fromkeys(worst.values()):
        flags = [f for f, i in worst.items() if i == index]
        params.append(
            {
                "label": labels[index],
                "index": index,
                "flags": flags,
                "values": {WORST[f][0]: float(per[WORST[f][0]][index]) for f in flags},
            }
        )
    posterior = {p["label"]: draws[kept[0], kept[1], p["index"]] for p in params}
    groups = {"posterior": posterior}
    diverging = (sample_stats or {}).get("diverging")
    if diverging is not None and np.shape(diverging)[:2] == (chains, n_draws):
        groups["sample_stats"] = {"diverging": np.asarray(diverging, bool)[kept]}
    # the kept draws keep their numbers in the run (thinned: 0, stride, 2 stride, ...)
    tree = from_dict(groups, coords={"draw": np.arange(n_draws)[kept[1]]})
    tree["posterior"].attrs["essbench_worst"] = json.dumps(
        {"params": params, "chains": chains, "draws": n_draws, "stride": stride}
    )
    if record.get("truth_mean") is not None:
        truth = [float(record["truth_mean"][p["index"]]) for p in params]
        tree["posterior"].attrs["essbench_truth_mean"] = json.dumps(truth)
    from essbench import draws as draws_io

    return {
        "flagged_draws_path": str(path),
        "flagged_draws_bytes": draws_io.save(path, tree),
        "flagged_worst": "; ".join(
            f"{REASON_TEXT[f]}: {p['label']}" for p in params for f in p["flags"]
        ),
    }


# --- The figures ------------------------------------------------------------------------


def _flagged(runs: pd.DataFrame) -> pd.Series:
    """Whether each run is flagged (unreliable or biased) or censored."""
    out = pd.Series(False, index=runs.index)
    for column in ("unreliable", "biased", "censored"):
        if column in runs:
            out |= runs[column].fillna(False).astype(bool)
    return out


def cells(runs: pd.DataFrame) -> list[dict]:
    """Each flagged or censored cell of the contenders, with the run its figure shows: the
    first flagged replicate whose worst parameters were kept (``run`` None when none was)."""
    from essbench.aggregate import GROUP, contenders

    ok = contenders(runs)
    ok = ok[ok["status"] == "ok"]
    flagged = ok[_flagged(ok)]
    out = []
    for (sampler, target, dim), g in flagged.groupby(GROUP, sort=True):
        g = g.sort_values("replicate")
        kept = g[g["flagged_draws_path"].notna()] if "flagged_draws_path" in g else g.iloc[0:0]
        n_cell = int(
            ((ok["sampler"] == sampler) & (ok["target"] == target) & (ok["dim"] == dim)).sum()
        )
        out.append(
            {
                "sampler": sampler,
                "target": target,
                "dim": int(dim),
                "n_flagged": len(g),
                "n_runs": n_cell,
                "run": kept.iloc[0].to_dict() if len(kept) else None,
            }
        )
    return out


def file_stem(cell: dict) -> str:
    return f"{cell['target']}-d{cell['dim']}-{cell['sampler']}"


def caption(cell: dict, meta: dict) -> str:
    """What a cell's figure shows, in words."""
    run = cell["run"]
    why = [REASON_TEXT[f] for f in reasons(run)]
    parts = [
        f"{cell['sampler']} on {cell['target']} at d = {cell['dim']}: {cell['n_flagged']} of"
        f" {cell['n_runs']} runs flagged or censored; replicate {int(run['replicate'])}"
        f" shown ({', '.join(why)}"
        + (f"; {run['unreliable_reason']}" if run.get("unreliable_reason") else "")
        + ")."
    ]
    for p in meta["params"]:
        picks = [
            f"the {WORST[f][2]} ({_short(WORST[f][0], p['values'][WORST[f][0]])})"
            for f in p["flags"]
        ]
        listed = ", ".join(picks[:-1]) + " and " + picks[-1] if len(picks) > 1 else picks[0]
        parts.append(f"{p['label']} has {listed}.")
    shown = min(meta["chains"], MAX_CHAINS)
    kind = "walkers" if run.get("ensemble") else "chains"
    scope = f"all {shown} {kind}" if shown == meta["chains"] else f"{kind} 0–{shown - 1} of"
    scope += "" if shown == meta["chains"] else f" {meta['chains']}"
    thin = f", one draw in {meta['stride']}" if meta["stride"] > 1 else ""
    parts.append(
        f"Left: trace ({scope}{thin}; dotted: the true mean where known). Right: each"
        " chain's fractional-rank ECDF minus the uniform's; p is the multi-chain uniformity"
        " test's p-value (α = 0.01), black points the ranks where a chain departs from the"
        " others."
    )
    return " ".join(parts)


SHORT = {"rhat": "R-hat", "tau": "τ", "ess_bulk": "bulk ESS", "z_mean": "|z| of the mean"}


def _short(stat: str, value: float) -> str:
    return f"{SHORT[stat]} {value:.3g}"


def figure(path, out_png) -> dict:
    """Trace and rank plot of every parameter kept in ``path``, one row each; returns the
    file's metadata (which parameters, why, how many chains and draws)."""
    import xarray as xr

    from essbench.plots import pyplot

    pyplot()  # Agg backend and essbench's style, before arviz-plots draws
    import arviz_plots as azp
    from arviz_plots import PlotCollection

    tree = xr.open_datatree(path, engine="h5netcdf").load()
    meta = json.loads(tree["posterior"].attrs["essbench_worst"])
    truth = json.loads(tree["posterior"].attrs.get("essbench_truth_mean", "null"))
    posterior = tree["posterior"].to_dataset()
    rows = len(meta["params"])
    # A rank plot compares chains: a one-chain run (an ESS-goal NUTS run of one chain) gets
    # its trace alone (arviz-plots' rank test refuses a single chain).
    columns = ["trace", "rank"] if posterior.sizes.get("chain", 1) > 1 else ["trace"]
    pc = PlotCollection.grid(
        posterior.expand_dims(column=len(columns)).assign_coords(column=columns),
        cols=["column"],
        rows=["__variable__"],
        aes={"color": ["chain"], "overlay": ["chain"]},
        backend="matplotlib",
        figure_kwargs={"figsize": (6.4, 1.9 * rows + 0.4), "layout": "constrained"},
    )
    pc.coords = {"column": "trace"}
    azp.plot_trace(tree, plot_collection=pc)
    if "rank" in columns:
        pc.coords = {"column": "rank"}
        azp.plot_rank(tree, plot_collection=pc)
    pc.coords = None
    for i, p in enumerate(meta["params"]):
        ax = pc.get_target(p["label"], {"column": "trace"})
        ax.set_title(f"{p['label']}: " + ", ".join(_short(k, v) for k, v in p["values"].items()))
        if truth is not None:
            ax.axhline(truth[i], color="0.2", lw=0.9, ls=":")
    pc.savefig(out_png, dpi=110)
    import matplotlib.pyplot as plt

    plt.close("all")
    return meta


def write_figures(runs: pd.DataFrame, outdir) -> list[dict]:
    """A figure per flagged or censored cell in ``outdir`` and ``index.json`` listing them:
    per cell its key, figure file (None where no run's worst parameters were kept) and
    caption."""
    outdir = Path(outdir)
    outdir.mkdir(parents=True, exist_ok=True)
    index = []
    for cell in cells(runs):
        entry = {k: cell[k] for k in ("sampler", "target", "dim", "n_flagged", "n_runs")}
        run = cell["run"]
        if run is None:
            entry |= {
                "figure": None,
                "caption": f"{cell['sampler']} on {cell['target']} at d = {cell['dim']}:"
                f" {cell['n_flagged']} of {cell['n_runs']} runs flagged or censored, but none"
                " kept its worst parameter's draws (runs finished before essbench kept them:"
                " delete their records to redo them).",
            }
        else:
            png = outdir / f"{file_stem(cell)}.png"
            meta = figure(run["flagged_draws_path"], png)
            entry |= {"figure": png.name, "caption": caption(cell, meta)}
        index.append(entry)
    io.write_json(outdir / "index.json", {"cells": index})
    return index
