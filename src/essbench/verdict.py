"""The answer in words: per target and dimension, each sampler's cost per effective sample as
a multiple of the study's baseline sampler's, with a bootstrap interval over replicates.

The ratio is that of geometric means of the replicates' costs (``cost_per_ess_mean``:
sampling seconds ÷ mean bulk ESS): costs are positive and skewed, and a ratio of geometric
means is the exponential of a difference of means of logs, which a bootstrap handles well.
The interval resamples each sampler's replicates with replacement, independently (its
coverage on synthetic runs with a known ratio is tested in tests/test_calibration.py). A
sentence says when a cell's runs are flagged or censored, because then its number is not
what it seems.

A ratio against a sampler that did not recover the truth is a number no reader can use (a
stuck run's ESS, and so its cost, means nothing): where any of a sampler's runs in a cell
has a mean more than ``policy.MAX_ERROR_SD`` posterior SD from the truth, or most of them
are biased (:func:`recovery`), its sentence says that it did not recover the posterior, at
which length and by how much, and gives the other side's cost per effective sample alone.

Each sampler's cost is on its cell's basis (``aggregate.cost_bases``, the same as the
headline table's): where the estimator's ESS disagrees with the empirical ESS beyond its
interval, the cost is mean sampling seconds ÷ the empirical ESS (1 / mean over replicates
of ``sq_error_mean``), recomputed for every bootstrap resample, and the sentence says so.
"""

import math
import re

import numpy as np
import pandas as pd

from essbench.aggregate import EMPIRICAL_BASIS_REASON, contenders, cost_bases, wrong_answers
from essbench.plots import _order

METRIC = "cost_per_ess_mean"
MIN_REPLICATES = 2


def _geometric_mean(costs):
    """The statistic of the estimator basis: the geometric mean of replicates' costs, as a
    function of bootstrap indices (rows of replicate positions)."""
    logs = np.log(np.asarray(costs, float))
    return logs.size, lambda idx: np.exp(logs[idx].mean(axis=-1))


def _empirical_cost(seconds, sq_errors):
    """The statistic of the empirical basis: mean seconds ÷ the empirical ESS, i.e. mean
    seconds × mean ``sq_error_mean``, as a function of bootstrap indices."""
    s, u = np.asarray(seconds, float), np.asarray(sq_errors, float)
    return s.size, lambda idx: s[idx].mean(axis=-1) * u[idx].mean(axis=-1)


def _bootstrap(mine, base, n_boot: int, level: float, seed):
    """(ratio, lo, hi) of two cells' cost statistics, percentile bootstrap resampling each
    cell's replicates with replacement, independently."""
    (n_a, stat_a), (n_b, stat_b) = mine, base
    ratio = float(stat_a(np.arange(n_a)) / stat_b(np.arange(n_b)))
    rng = np.random.default_rng(seed)
    boot_a = stat_a(rng.integers(0, n_a, size=(n_boot, n_a)))
    boot_b = stat_b(rng.integers(0, n_b, size=(n_boot, n_b)))
    lo, hi = np.quantile(boot_a / boot_b, [(1 - level) / 2, (1 + level) / 2])
    return ratio, float(lo), float(hi)


def ratio_interval(costs, baseline_costs, n_boot: int = 2000, level: float = 0.95, seed=0):
    """(ratio, lo, hi) of geometric-mean costs, percentile bootstrap over replicates."""
    return _bootstrap(_geometric_mean(costs), _geometric_mean(baseline_costs), n_boot, level, seed)


def _statistic(cell: pd.DataFrame, basis: str):
    """The bootstrap statistic of one sampler's runs in one cell on its cost basis."""
    if basis == "empirical":
        return _empirical_cost(cell["sampling_seconds"], cell["sq_error_mean"])
    return _geometric_mean(cell[METRIC])


def _reason_kind(reason: str) -> str:
    """What a reason is about, its numbers left out ("rhat=1.043>1.01" -> "rhat", "189
    divergences" -> "divergences")."""
    head = reason.split("=")[0] if "=" in reason else reason
    return re.sub(r"[-+]?\d[\d,.]*(e[-+]?\d+)?", "#", head).strip()


def _first_number(reason: str) -> float:
    found = re.search(r"=?\s*([-+]?\d[\d,]*\.?\d*(?:e[-+]?\d+)?)", reason)
    return float(found.group(1).replace(",", "")) if found else math.nan


def every_reason(reasons) -> str:
    """Every reason the flagged runs of a cell give (``unreliable_reason``: ``;``-separated),
    once per kind, the worst run's value (the smallest chain/τ, the largest of any other
    number), with how many runs give it: "rhat=1.043>1.01 in 2 runs; 189 divergences"."""
    kinds: dict[str, list[str]] = {}
    for text in reasons:
        for reason in (r.strip() for r in str(text).split(";")):
            if reason:
                kinds.setdefault(_reason_kind(reason), []).append(reason)
    parts = []
    for kind, found in kinds.items():
        values = [_first_number(r) for r in found]
        pick = np.nanargmin if kind.startswith("chain/tau") else np.nanargmax
        worst = found[int(pick(values))] if np.isfinite(values).any() else found[0]
        parts.append(worst if len(found) == 1 else f"{worst} at worst, in {len(found)} runs")
    return "; ".join(parts)


def _caveat(name: str, cell: pd.DataFrame) -> str:
    """What the flags of a sampler's runs in one cell mean for its number ("" if none)."""
    n, parts = len(cell), []

    def count(column):
        return int(cell[column].fillna(False).astype(bool).sum()) if column in cell else 0

    censored, unreliable, biased = count("censored"), count("unreliable"), count("biased")
    flagged = cell[cell["unreliable"].fillna(False).astype(bool)] if unreliable else cell[:0]
    reasons = [r for r in flagged["unreliable_reason"].dropna() if r] if unreliable else []
    why = f" ({every_reason(reasons)})" if reasons else ""
    short = (
        cell["censored"].fillna(False).astype(bool)
        & cell["unreliable"].fillna(False).astype(bool)
        & cell.get("ess_goal_reliable", pd.Series(False, index=cell.index))
        .fillna(False)
        .astype(bool)
        if {"censored", "unreliable"} <= set(cell)
        else pd.Series(False, index=cell.index)
    )
    if short.any():
        # A reliable ESS goal that ran out of budget: the flags are why it stopped, and its
        # ESS (from chains too short to trust) overstates what it reached.
        k = int(short.sum())
        parts.append(
            f"{k} of {n} of {name}'s runs did not reach a trustworthy ESS within the sampling"
            f" budget{why}, so its figure is a lower bound"
        )
        censored -= k
        unreliable -= k
    if censored:
        parts.append(
            f"{censored} of {n} of {name}'s runs stopped short of the ESS goal, so its figure"
            " is a lower bound"
        )
    if unreliable:
        verdict = "so its figure is not trustworthy" if 2 * unreliable > n else "read it with care"
        parts.append(f"{unreliable} of {n} of {name}'s runs have an unreliable ESS{why}, {verdict}")
    if biased:
        parts.append(f"{biased} of {n} of {name}'s runs are biased against the truth")
    return "; ".join(parts)


def recovery(cell: pd.DataFrame) -> dict:
    """Whether one sampler's runs in one cell recovered the truth.

    ``failed``: any run's mean is more than ``policy.MAX_ERROR_SD`` posterior SD from the
    truth, or more than half of the runs are biased (``aggregate.wrong_answers``);
    ``wrong``/``n`` count the runs that did not recover it; ``error_sd`` is the largest
    error of a mean in posterior SDs over the runs (nan where unknown)."""
    from essbench import policy

    n, wrong = len(cell), int(wrong_answers(cell).sum())
    errors = pd.to_numeric(cell.get("error_sd_max", pd.Series(dtype=float)), errors="coerce")
    worst = float(errors.max()) if errors.notna().any() else float("nan")
    failed = bool(2 * wrong > n or (np.isfinite(worst) and worst > policy.MAX_ERROR_SD))
    return {"failed": failed, "wrong": wrong, "n": n, "error_sd": worst}


def _length(name: str, cell: pd.DataFrame) -> str:
    """ " in 5,000 steps per walker": a sampler's run length (median over the cell), or ""."""
    from essbench import registry

    plugin = registry.find_sampler(name)
    option = getattr(plugin, "LENGTH_OPTION", None) if plugin is not None else None
    column = f"option_{option}"
    if not option or column not in cell or not cell[column].notna().any():
        return ""
    return f" in {float(cell[column].median()):,.0f} {plugin.LENGTH_UNIT}"


def _not_recovered(name: str, cell: pd.DataFrame, rec: dict) -> str:
    """ "`emcee` did not recover the posterior in 5,000 steps per walker (3 of 3 runs; errors
    of up to 1.1 posterior SD)"."""
    error = rec["error_sd"]
    size = f"; a mean up to {error:.2g} posterior SD off" if np.isfinite(error) else ""
    return (
        f"`{name}` did not recover the posterior{_length(name, cell)} ({rec['wrong']} of"
        f" {rec['n']} runs biased{size}{_quantile_miss(cell)})"
    )


def _quantile_miss(cell: pd.DataFrame) -> str:
    """ "; at worst 0.000 of its draws of `tau` below the truth's 10% quantile (0.1
    expected)": the biased runs' largest quantile miss, where the model-terms test names it
    (``z_quantile_variable``), else ""."""
    columns = ("z_quantile_variable", "z_quantile_fraction", "z_quantile_level", "biased")
    if not all(c in cell for c in columns):
        return ""
    hit = cell[cell["biased"].fillna(False).astype(bool) & cell["z_quantile_variable"].notna()]
    hit = hit[hit["z_quantile_variable"].astype(str).ne("")]
    if hit.empty:
        return ""
    worst = hit.loc[pd.to_numeric(hit["z_quantile_max"], errors="coerce").idxmax()]
    level = float(worst["z_quantile_level"])
    return (
        f"; at worst {float(worst['z_quantile_fraction']):.3f} of its draws of"
        f" `{worst['z_quantile_variable']}` below the truth's {100 * level:g}% quantile"
        f" ({level:g} expected)"
    )


def _recovery_sentence(target, dim, sampler, mine, rec_mine, baseline, base, rec_base, stats):
    """The verdict of a cell where one side, or both, did not recover the truth: no ratio."""
    head = f"On `{target}` at d = {dim}, "
    if rec_mine["failed"] and rec_base["failed"]:
        return (
            head
            + "neither sampler recovered the posterior: "
            + _not_recovered(sampler, mine, rec_mine)
            + "; "
            + _not_recovered(baseline, base, rec_base)
            + "."
        )
    bad, bad_cell, rec, good = (
        (sampler, mine, rec_mine, baseline)
        if rec_mine["failed"]
        else (baseline, base, rec_base, sampler)
    )
    n_good, stat_good = stats[good]
    cost = float(stat_good(np.arange(n_good)))
    return (
        head
        + _not_recovered(bad, bad_cell, rec)
        + f"; `{good}` did, at {cost * 1e3:.3g} ms per effective sample."
    )


def _all(cell: pd.DataFrame, column: str) -> bool:
    return column in cell and bool(cell[column].fillna(False).astype(bool).all())


def _basis_note(names: list[str]) -> str:
    """The clause that says which samplers' costs are divided by the empirical ESS."""
    if not names:
        return ""
    who = " and ".join(f"`{n}`'s" for n in names)
    return f"; {who} cost divided by the empirical ESS: {EMPIRICAL_BASIS_REASON}"


def _pairs(runs: pd.DataFrame, baseline: str, calibration: pd.DataFrame | None):
    """Each (target, dim, sampler) compared with the baseline, with enough replicates on
    both sides: (target, dim, sampler, its runs, the baseline's, their cost bases, their
    cost statistics), each cost on its cell's basis (``calibration``; none: the
    estimator's)."""
    bases = cost_bases(calibration)
    runs = contenders(runs)
    ok = runs[(runs["status"] == "ok") & np.isfinite(runs[METRIC]) & (runs[METRIC] > 0)]
    for (target, dim), cell in ok.groupby(["target", "dim"], sort=True):
        base = cell[cell["sampler"] == baseline]
        if len(base) < MIN_REPLICATES:
            continue
        base_basis = bases.get((baseline, target, int(dim)), "estimator")
        for sampler in sorted(set(cell["sampler"]) - {baseline}, key=_order):
            mine = cell[cell["sampler"] == sampler]
            if len(mine) < MIN_REPLICATES:
                continue
            basis = bases.get((sampler, target, int(dim)), "estimator")
            stats = {sampler: _statistic(mine, basis), baseline: _statistic(base, base_basis)}
            yield target, dim, sampler, mine, base, basis, base_basis, stats


def sentences(
    runs: pd.DataFrame, baseline: str, calibration: pd.DataFrame | None = None
) -> list[str]:
    """One sentence per (target, dim, sampler other than the baseline) with enough runs;
    each cost on its cell's basis from the ``calibration`` table (none: the estimator's)."""
    out = []
    for target, dim, sampler, mine, base, basis, base_basis, stats in _pairs(
        runs, baseline, calibration
    ):
        rec_mine, rec_base = recovery(mine), recovery(base)
        if rec_mine["failed"] or rec_base["failed"]:
            out.append(
                _recovery_sentence(
                    target, dim, sampler, mine, rec_mine, baseline, base, rec_base, stats
                )
            )
            continue
        ratio, lo, hi = _bootstrap(stats[sampler], stats[baseline], 2000, 0.95, 0)
        n = min(len(mine), len(base))
        # Every run of one side censored (its cost a lower bound) bounds the ratio.
        bound = {(True, False): "at least ", (False, True): "at most "}.get(
            (_all(mine, "censored"), _all(base, "censored")), ""
        )
        empirical = [s for s, b in ((sampler, basis), (baseline, base_basis)) if b != "estimator"]
        text = (
            f"On `{target}` at d = {dim}, `{sampler}` costs {bound}{ratio:.3g}× [{lo:.3g},"
            f" {hi:.3g}] what `{baseline}` costs per effective sample (bootstrap over"
            f" {n} replicates{_basis_note(empirical)})"
        )
        caveats = [c for c in (_caveat(sampler, mine), _caveat(baseline, base)) if c]
        out.append(text + ("; " + "; ".join(caveats) if caveats else "") + ".")
    return out


# --- the verdict as a table: a shared caveat said once, ratios scannable ------------------

CAVEAT_MEANING = {
    "short": "did not reach a trustworthy ESS within the sampling budget, so the figure is a"
    " lower bound",
    "censored": "stopped short of the ESS goal, so the figure is a lower bound",
    "unreliable": "have an unreliable ESS: read the figure with care (not trustworthy where"
    " most of a cell's runs are flagged)",
    "biased": "are biased against the truth",
}


def _caveat_parts(cell: pd.DataFrame) -> list[tuple[str, int, list[str]]]:
    """The flags of one sampler's runs in one cell as (kind, runs, their reasons): the
    categories :func:`_caveat` words, counted the same way."""

    def flag(column):
        if column not in cell:
            return pd.Series(False, index=cell.index)
        return cell[column].fillna(False).astype(bool)

    censored, unreliable, biased = flag("censored"), flag("unreliable"), flag("biased")
    short = censored & unreliable & flag("ess_goal_reliable")

    def reasons(mask, column="unreliable_reason"):
        if column not in cell:
            return []
        return [r for r in cell.loc[mask, column].dropna() if r]

    parts = []
    for kind, mask in (
        ("short", short),
        ("censored", censored & ~short),
        ("unreliable", unreliable & ~short),
        ("biased", biased),
    ):
        if mask.any():
            why = reasons(mask, "bias_reason") if kind == "biased" else reasons(mask & unreliable)
            parts.append((kind, int(mask.sum()), why))
    return parts


def rows(runs: pd.DataFrame, baseline: str, calibration: pd.DataFrame | None = None) -> list:
    """The verdict's cells as dicts (the numbers of :func:`sentences`, not their words):
    target, dim, sampler, ratio, lo, hi, bound, replicates, empirical (the samplers whose
    cost is on the empirical basis), caveats ((sampler, kind, runs, n, reasons) per flag
    kind), and ``not_recovered`` (the sentence where a side did not recover the truth)."""
    out = []
    for target, dim, sampler, mine, base, basis, base_basis, stats in _pairs(
        runs, baseline, calibration
    ):
        row = {"target": target, "dim": int(dim), "sampler": sampler}
        rec_mine, rec_base = recovery(mine), recovery(base)
        if rec_mine["failed"] or rec_base["failed"]:
            row["not_recovered"] = _recovery_sentence(
                target, dim, sampler, mine, rec_mine, baseline, base, rec_base, stats
            )
            out.append(row)
            continue
        ratio, lo, hi = _bootstrap(stats[sampler], stats[baseline], 2000, 0.95, 0)
        row.update(
            ratio=ratio,
            lo=lo,
            hi=hi,
            bound={(True, False): "at least", (False, True): "at most"}.get(
                (_all(mine, "censored"), _all(base, "censored")), ""
            ),
            replicates=min(len(mine), len(base)),
            empirical=[
                s for s, b in ((sampler, basis), (baseline, base_basis)) if b != "estimator"
            ],
            caveats=[
                (name, kind, k, len(c), reasons)
                for name, c in ((sampler, mine), (baseline, base))
                for kind, k, reasons in _caveat_parts(c)
            ],
        )
        out.append(row)
    return out


def table_markdown(
    runs: pd.DataFrame, baseline: str, calibration: pd.DataFrame | None = None
) -> str:
    """The verdict as one table (a row per target, d and sampler: its cost as a multiple of
    the baseline's, with its interval) and its notes below it, each caveat said once with
    every reason its runs give (:func:`every_reason`, over all the cells it marks)."""
    found = rows(runs, baseline, calibration)
    if not found:
        return ""
    notes: dict[tuple, dict] = {}
    lines = [
        f"| target | d | sampler | cost ÷ `{baseline}`'s [95%] | replicates | notes |",
        "|---|---|---|---|---|---|",
    ]
    for row in found:
        head = f"| `{row['target']}` | {row['dim']} | `{row['sampler']}` |"
        if "not_recovered" in row:
            text = row["not_recovered"].split(", ", 1)[1].rstrip(".")
            lines.append(f"{head} – | – | {text} |")
            continue
        marks = []
        for name in row["empirical"]:
            key = (name, "empirical")
            notes.setdefault(key, {"n": len(notes) + 1, "reasons": []})
            marks.append(f"[{notes[key]['n']}]")
        for name, kind, k, n, reasons in row["caveats"]:
            key = (name, kind)
            notes.setdefault(key, {"n": len(notes) + 1, "reasons": []})
            notes[key]["reasons"] += reasons
            marks.append(f"[{notes[key]['n']}] {k} of {n}")
        bound = f"{row['bound']} " if row["bound"] else ""
        lines.append(
            f"{head} {bound}{row['ratio']:.3g}× [{row['lo']:.3g}, {row['hi']:.3g}] |"
            f" {row['replicates']} | {', '.join(marks) or '–'} |"
        )
    lines.append("")
    for (name, kind), note in notes.items():
        if kind == "empirical":
            text = f"`{name}`'s cost divided by the empirical ESS: {EMPIRICAL_BASIS_REASON}"
        else:
            why = every_reason(note["reasons"])
            text = f"`{name}`'s runs so counted {CAVEAT_MEANING[kind]}" + (
                f" ({why})" if why else ""
            )
        lines.append(f"- [{note['n']}] {text}.")
    return "\n".join(lines) + "\n"
