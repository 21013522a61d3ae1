"""``results/summary.md``: the headline numbers, the tutorial comparison, failures, provenance."""

import math
from pathlib import Path

import numpy as np
import pandas as pd

from essbench import aggregate, policy
from essbench.aggregate import contenders
from essbench.plots import _order


def ms_text(x: float) -> str:
    """A number of milliseconds as the tables print it (3 significant digits; n/a if not
    finite)."""
    if x is None or not math.isfinite(x):
        return "n/a"
    return f"{x:.3g}" if x < 100 else f"{x:.0f}"


# The mark of a headline cost divided by the empirical ESS (``cost_basis`` = empirical).
EMPIRICAL_MARK = "§"


def empirical_basis_note() -> str:
    """The footnote that explains :data:`EMPIRICAL_MARK`."""
    return (
        f"{EMPIRICAL_MARK} divided by the empirical ESS, not the estimator's: "
        f"{aggregate.EMPIRICAL_BASIS_REASON}. The figure is then mean sampling seconds ÷ the"
        " empirical ESS (pooled over replicates and parameters) with its 95% interval, in"
        " place of the median [min–max] over replicates."
    )


def headline_cell(row) -> tuple[float, float, float, str]:
    """(cost, lo, hi, basis) of one summary row's headline cost per effective sample: its
    ``headline_cost_per_ess`` columns where the table has them, else the estimator basis."""
    basis = row.get("cost_basis", "estimator")
    if "headline_cost_per_ess" in row and isinstance(basis, str):
        keys = ("headline_cost_per_ess", "headline_cost_per_ess_lo", "headline_cost_per_ess_hi")
    else:
        basis = "estimator"
        keys = ("cost_per_ess_mean_median", "cost_per_ess_mean_min", "cost_per_ess_mean_max")
    return (*(float(row[k]) for k in keys), basis)


def headline(summary: pd.DataFrame, baseline: str | None = None) -> str:
    """Per target: ms per effective sample per sampler and dim on its cost basis (the median
    [min-max] over replicates of ``cost_per_ess_mean``, or, marked, the cost per empirical
    ESS [95% interval] where the two bases disagree), and the ratio of each to the study's
    ``baseline`` sampler."""
    lines, any_empirical = [], False
    for target, sub in summary.groupby("target", sort=True):
        samplers = sorted(sub["sampler"].unique(), key=_order)
        ref = baseline if baseline in samplers else samplers[0]
        lines.append(f"### {target}\n")
        ratio_text = f", and the ratio to `{ref}` (× more expensive)" if len(samplers) > 1 else ""
        lines.append(
            "Median cost per effective sample in ms (`cost_per_ess_mean`: sampling seconds ÷"
            " bulk ESS averaged over parameters), with the [min–max] over replicates"
            f"{ratio_text}.\n"
        )
        # One header cell per column: a study of one sampler has no ratio columns.
        head = ["d", *(f"`{s}` ms/ESS" for s in samplers)]
        head += [f"`{s}` ÷ `{ref}`" for s in samplers if s != ref]
        lines.append("| " + " | ".join(head) + " |")
        lines.append("|" + "---|" * len(head))
        for dim, rows in sub.groupby("dim", sort=True):
            by = rows.set_index("sampler")
            cells, cost = [], {}
            for s in samplers:
                if s in by.index and by.loc[s, "n_ok"] > 0:
                    med, lo, hi, basis = headline_cell(by.loc[s])
                    cost[s] = (med, basis)
                    mark = f" {EMPIRICAL_MARK}" if basis == "empirical" else ""
                    any_empirical |= basis == "empirical"
                    mark += " †" if by.loc[s].get("n_unreliable", 0) else ""
                    mark += " ≥" if by.loc[s].get("n_censored", 0) else ""
                    cells.append(
                        f"{ms_text(med * 1e3)} [{ms_text(lo * 1e3)}–{ms_text(hi * 1e3)}]{mark}"
                    )
                else:  # a cell never run (the sampler skips that dim) is not a failure
                    cells.append("failed" if s in by.index else "–")
            ratios = []
            ref_cost, ref_basis = cost.get(ref, (math.nan, "estimator"))
            for s in samplers:
                if s == ref:
                    continue
                mine, basis = cost.get(s, (math.nan, "estimator"))
                ratio = mine / ref_cost if ref_cost and math.isfinite(ref_cost) else math.nan
                mark = f" {EMPIRICAL_MARK}" if "empirical" in (basis, ref_basis) else ""
                ratios.append("n/a" if not math.isfinite(ratio) else f"{ratio:.3g}×{mark}")
            lines.append(f"| {dim} | " + " | ".join(cells + ratios) + " |")
        lines.append("")
    if any_empirical:
        lines.append(empirical_basis_note() + "\n")
    return "\n".join(lines)


def tutorial_comparison(runs: pd.DataFrame, published: dict) -> str:
    ok = runs[(runs["status"] == "ok") & (runs["target"] == published["target"])]
    ok = ok[ok["dim"] == published["dim"]]
    lines = [
        f"## The tutorial comparison ({published['target']}, d = {published['dim']})\n",
        f"Published: {published['source']}. Ours: the median over replicates of sampling seconds "
        "÷ mean bulk ESS, the same metric.\n",
        "| sampler | published ms/ESS | ours ms/ESS | ours ÷ published |",
        "|---|---|---|---|",
    ]
    for sampler, value in published["ms_per_ess"].items():
        ours = ok.loc[ok["sampler"] == sampler, "cost_per_ess_mean"].median() * 1e3
        ratio = ours / value if math.isfinite(ours) else math.nan
        lines.append(
            f"| `{sampler}` | {value:.2f} | {ms_text(ours)} | "
            f"{'n/a' if not math.isfinite(ratio) else f'{ratio:.2f}'} |"
        )
    names = list(published["ms_per_ess"])
    if len(names) == 2:
        a, b = names
        pub = published["ms_per_ess"][b] / published["ms_per_ess"][a]
        ca = ok.loc[ok["sampler"] == a, "cost_per_ess_mean"].median()
        cb = ok.loc[ok["sampler"] == b, "cost_per_ess_mean"].median()
        lines.append(f"\n`{b}` ÷ `{a}`: published {pub:.1f}×, ours {ms_text(cb / ca)}×.")
    return "\n".join(lines) + "\n"


def calibration_section(cal: pd.DataFrame) -> str:
    lines = [
        "## ESS calibration across replicates\n",
        "Estimator ESS ÷ empirical ESS (pooled over replicates and parameters; 95% interval)."
        " Near 1:"
        " the bulk ESS (Kish's ESS of the weights, for nested samplers) is honest; above 1: the"
        " ESS (and the cost per ESS) is too optimistic.\n",
    ]
    if cal.empty:
        return "\n".join(lines + ["No successful runs with a truth to calibrate against.\n"])
    lines += [
        "Beside it, the cost per ESS on each basis: mean sampling seconds ÷ the estimator's"
        " (harmonic mean) bulk or Kish ESS, and ÷ the empirical ESS from the replicates' errors"
        " against the truth, with its 95% interval (cells with at least 3 replicates; the `exact`"
        " oracle has no cost, its ratio is the reference: near 1).\n",
        "| sampler | target | d | replicates | ratio | 95% interval | ms/ESS (estimator)"
        " | ms/ESS (empirical) [95%] |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in cal.sort_values(["target", "sampler", "dim"]).itertuples():
        flag = "" if r.ratio_lo <= 1 <= r.ratio_hi else " ‡"
        est = getattr(r, "cost_per_ess_estimator", math.nan)
        emp = getattr(r, "cost_per_ess_empirical", math.nan)
        costs = "– | –"
        if math.isfinite(emp):
            lo, hi = r.cost_per_ess_empirical_lo * 1e3, r.cost_per_ess_empirical_hi * 1e3
            mark = " ‡" if r.bases_disagree else ""
            costs = (
                f"{ms_text(est * 1e3)}{mark} | {ms_text(emp * 1e3)} [{ms_text(lo)}–{ms_text(hi)}]"
            )
        lines.append(
            f"| {r.sampler} | {r.target} | {r.dim} | {r.n_replicates} | {r.ratio:.2f}{flag} | "
            f"{r.ratio_lo:.2f}–{r.ratio_hi:.2f} | {costs} |"
        )
    lines.append(
        "\n‡ the interval excludes 1 (ratio), or the estimator's cost lies outside the"
        " empirical interval (the two bases disagree: the headline and the verdict then use"
        f" the empirical one, marked {EMPIRICAL_MARK})."
    )
    return "\n".join(lines) + "\n"


def _evals_text(value: float) -> str:
    if not math.isfinite(value):
        return "not reached" if value > 0 else "–"
    return f"{value:,.0f}" if value < 1e5 else f"{value:.3g}"


def evals_to_bias_section(runs: pd.DataFrame) -> str:
    """The MCHMC papers' cost (``grads_to_bias_avg``, :mod:`essbench.literature`) per cell,
    beside cost per ESS and never mixed with it; empty where no run has it (no target of
    the study has known second moments)."""
    from essbench import literature

    if "grads_to_bias_avg" not in runs.columns:
        return ""
    ok = contenders(runs)
    ok = ok[(ok["status"] == "ok") & ok["draws_to_bias_avg"].notna()]
    if "grads_to_bias_unit" in ok.columns:
        ok = ok[ok["grads_to_bias_unit"].fillna("") != ""]
    if not len(ok):
        return ""
    samplers = sorted(ok["sampler"].unique())
    units = ok.groupby("sampler")["grads_to_bias_unit"].first()
    lines = [
        "## Evaluations to low bias (the MCHMC papers' cost)\n",
        "The sampler papers' own measure, for the targets whose E[x²] and Var[x²] are known:"
        " evaluations after warm-up until the median over a run's chains (an ensemble is one"
        " chain: its walkers pooled, each step counting every walker's calls) of the squared"
        " error of the running mean of x², in units of Var[x²] and averaged over parameters,"
        " stays below"
        f" {literature.LOW_BIAS:g} (an RMSE of 0.1 SD: about 100 effective draws;"
        " `grads_to_bias_avg`, `essbench.literature`). A gradient-based sampler counts"
        " gradient evaluations (g), a gradient-free one log-density evaluations (ℓ), which"
        " cost less each: compare within a unit, and use the cost per ESS across them."
        " Median over replicates; the fraction of runs that got there in brackets (a run"
        " that ends above the bound has not reached it).\n",
        "| target | d | "
        + " | ".join(f"{s} ({'g' if units[s] == 'grad' else 'ℓ'})" for s in samplers)
        + " |",
        "|---|---|" + "---|" * len(samplers),
    ]
    for (target, dim), cell in ok.groupby(["target", "dim"], sort=True):
        cells = []
        for sampler in samplers:
            values = cell.loc[cell["sampler"] == sampler, "grads_to_bias_avg"].astype(float)
            if not len(values):
                cells.append("–")
                continue
            reached = int(np.isfinite(values).sum())
            cells.append(f"{_evals_text(float(values.median()))} ({reached}/{len(values)})")
        lines.append(f"| {target} | {dim} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def timing_section(runs: pd.DataFrame) -> str:
    runs = contenders(runs)
    ok = runs[runs["status"] == "ok"]
    cols = [
        c
        for c in (
            "build_seconds",
            "compile_seconds",
            "model_compile_amortized_seconds",
            "warmup_seconds",
            "draw_seconds",
            "diagnose_seconds",
            "batch_prime_seconds",
        )
        if c in ok
    ]
    lines = [
        "## Where the time goes\n",
        "Median seconds per run. Cost per ESS uses warm-up + draws only; `compile` is what the"
        " sampling job itself compiled (the shared cache is warmed by the compile rule, whose"
        " time is `model compile (amortized)` per run).\n",
        "| sampler | "
        + " | ".join(c.removesuffix("_seconds").replace("_", " ") for c in cols)
        + " | grad evals | log-p evals |",
        "|---|" + "---|" * (len(cols) + 2),
    ]
    for sampler, g in ok.groupby("sampler", sort=False):
        cells = [f"{g[c].median():.3g}" for c in cols]
        cells += [f"{g['grad_evals'].median():.3g}", f"{g['logp_evals'].median():.3g}"]
        lines.append(f"| {sampler} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n" + contention_section(ok)


def _study(runs: pd.DataFrame) -> str:
    """The study's name (its results folder), or ``<study>`` where the table has none."""
    names = runs["study"].dropna().unique() if "study" in runs else []
    return str(names[0]) if len(names) == 1 else "<study>"


def turns_text(ok: pd.DataFrame) -> str:
    """Whether the runs sampled one at a time (``exclusive_sampling``), and how long they
    waited for their turn; empty where none did."""
    if "exclusive_sampling" not in ok:
        return ""
    costed = contenders(ok) if "sampler" in ok else ok  # an oracle's clock is no cost
    took = costed["exclusive_sampling"].fillna(False).astype(bool)
    if not took.any():
        return ""
    waits = costed.loc[took, "exclusive_wait_seconds"].astype(float)
    who = "Every costed run" if took.all() else f"{int(took.sum())} of {len(costed)} costed runs"
    return (
        f"\n{who} sampled alone (`exclusive_sampling`: no two costed runs' clocks overlapped on"
        f" this machine), after waits for its turn of {waits.median():.1f} s (median;"
        f" longest {waits.max():.1f} s) outside its clock. {_beside_untimed(costed[took])}\n"
    )


def _beside_untimed(took: pd.DataFrame) -> str:
    """Whether other jobs' untimed work (compiles, diagnostics, reports) ran beside the
    runs that took turns (``strict_sampling``: their sections paused it)."""
    strict = took["strict_sampling"].fillna(False).astype(bool) if "strict_sampling" in took else []
    if len(strict) and strict.all():
        return (
            "No other essbench work ran beside them: each of their timed sections paused every"
            " other job, and a job that started meanwhile waited for it to end"
            " (`exclusive_sampling` `auto` outside SLURM, or `strict`)."
        )
    return (
        "Other jobs' untimed work (compiles, diagnostics, reports) could run beside them"
        " (`neighbour_load`); `exclusive_sampling` `auto` (outside SLURM) or `strict` pauses it"
        " during every timed section."
    )


def contention_section(ok: pd.DataFrame) -> str:
    """Which runs' clocks were shared with other processes (``policy.contention_reason``),
    after whether they took turns (:func:`turns_text`)."""
    return turns_text(ok) + _contended_text(ok)


def _contended_text(ok: pd.DataFrame) -> str:
    if "contended" not in ok or ok["neighbour_load"].isna().all():
        return "\nNo run recorded its neighbours' load (not Linux): contention unknown.\n"
    hit = ok[ok["contended"].fillna(False).astype(bool)]
    worst = ok["neighbour_load"].max()
    if hit.empty:
        return (
            f"\nNo run was timed under contention (other processes' load at most {worst:.2f}"
            " cores, within the cores each run's threads left free).\n"
        )
    lines = [
        f"\n**{len(hit)} of {len(ok)} runs were timed under contention**"
        f" ({policy.CONTENDED_MEANING}): redo them on a quieter machine before trusting"
        f" their cost (`python -m essbench.redo results/{_study(ok)} --contended --apply`,"
        " then the study's command again).\n",
    ]
    for r in hit.itertuples():
        lines.append(f"- {r.sampler} on {r.target} d={r.dim} r{r.replicate}: {r.contention_reason}")
    return "\n".join(lines) + "\n"


def censored(runs: pd.DataFrame) -> str:
    """ESS-goal runs that stopped short of the target (their cost is a bound)."""
    if "censored" not in runs:
        return ""
    ok = runs[runs["status"] == "ok"]
    target = ok["ess_goal"].dropna()
    goal = f"{target.iloc[0]:g}" if len(target) else "the target"
    sub = ok[ok["censored"].fillna(False).astype(bool)]
    lines = [
        "## Censored runs (time to the goal ESS)\n",
        f"Runs sample until their worst parameter's bulk ESS reaches {goal}. A censored run ran"
        " out of budget (or hit its length cap) first: its time to the goal is only a lower"
        " bound, and its cost per ESS comes from a chain too short for the target. Marked ≥ in"
        " the tables and with upward triangles in the figures.\n",
    ]
    if sub.empty:
        return "\n".join([*lines, f"None: all {len(ok)} runs reached the target.\n"])
    lines += [
        "| sampler | target | d | replicate | ESS reached | seconds spent | why it stopped |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in sub.itertuples():
        lines.append(
            f"| {r.sampler} | {r.target} | {r.dim} | {r.replicate} | {r.ess_bulk_min_at_stop:.0f} |"
            f" ≥ {r.time_to_goal_seconds:.1f} | {r.censored_reason} |"
        )
    return "\n".join(lines) + "\n"


def failures(runs: pd.DataFrame) -> str:
    bad = runs[runs["status"] != "ok"]
    if bad.empty:
        return "## Failed runs\n\nNone.\n"
    lines = [
        "## Failed runs\n",
        "| sampler | target | d | replicate | reason | log |",
        "|---|---|---|---|---|---|",
    ]
    for r in bad.itertuples():
        lines.append(
            f"| {r.sampler} | {r.target} | {r.dim} | {r.replicate} | {r.reason} | `{r.log}` |"
        )
    return "\n".join(lines) + "\n"


def flagged(runs: pd.DataFrame) -> str:
    lines = ["## Unreliable or biased runs\n"]
    ok = contenders(runs)
    ok = ok[ok["status"] == "ok"]
    for flag, why in (
        ("unreliable", policy.UNRELIABLE_MEANING),
        ("biased", policy.BIASED_MEANING),
    ):
        if flag not in ok:
            continue
        sub = ok[ok[flag].fillna(False).astype(bool)]
        lines.append(f"- **{flag}** ({why}): {len(sub)} of {len(ok)} runs.")
        for key, g in sub.groupby(["sampler", "target", "dim"]):
            lines.append(
                f"  - {key[0]} on {key[1]} at d = {key[2]}: replicates {sorted(g['replicate'])}"
            )
    lines.append(
        "\n`report.html` shows, for each flagged or censored cell, the trace and rank plot of"
        " a flagged run's worst parameter (`figures/flagged/`)."
    )
    lines.append("\n† in the tables: at least one replicate of that cell is flagged unreliable.")
    if "censored" in ok:
        lines.append(
            "≥ in the tables: at least one replicate of that cell is censored (see below)."
        )
    return "\n".join(lines) + "\n"


TRUTH_TEXT = {
    "analytic": "analytic",
    "user": "user-supplied (the model file's `truth()`)",
    "posteriordb": "posteriordb's reference draws",
    "reference": "the reference rule's long NUTS run",
    "reference_model": "the reference rule's long NUTS run on the file's `reference_model`",
    "nested": "the reference rule's nested sampling from the model's priors",
    "user_draws": "your reference draws (the config's `reference_draws`)",
}
# Marks a truth whose routes disagree (the note below the table says which and by how much).
ROUTES_DISAGREE_MARK = "‡"


def truth_caveats(runs: pd.DataFrame) -> list[tuple[str, int, str]]:
    """(target, dim, caveat) for each cell whose truth's routes disagree (the reference
    record's ``route_agreement``, carried by its runs as ``truth_caveat``)."""
    if "truth_caveat" not in runs:
        return []
    found = runs[runs["truth_caveat"].fillna("").astype(str) != ""]
    out = []
    for (target, dim), g in found.groupby(["target", "dim"]):
        out.append((target, int(dim), str(g["truth_caveat"].iloc[0])))
    return out


def truth_caveat_text(runs: pd.DataFrame) -> str:
    """The summary's caveat on the truth: one line per cell whose routes disagree ("" none)."""
    caveats = truth_caveats(runs)
    if not caveats:
        return ""
    lines = [
        f"{ROUTES_DISAGREE_MARK} **Caveat on the truth**: {policy.ROUTES_DISAGREE_MEANING}."
        " Find which of the routes named below is wrong (an equivalent model that is not, draws"
        " of another model, a sampler biased on this one) before trusting a bias verdict of"
        " these cells:"
    ]
    lines += [f"- `{target}` d = {dim}: {caveat}." for target, dim, caveat in caveats]
    return "\n".join(lines) + "\n"


def truth_recovered_table(runs: pd.DataFrame) -> pd.DataFrame:
    """Per (target, dim), per sampler: "k/n", the finished runs that recover the truth (not
    ``biased``, and no mean more than ``policy.MAX_ERROR_SD`` posterior SDs off:
    ``aggregate.wrong_answers``) of those the bias test judged, "✗" where any did not; the
    truth's source.
    Empty where no run was judged (no truth)."""
    ok = contenders(runs)
    ok = ok[ok["status"] == "ok"]
    if "biased" not in ok or "bias_test" not in ok:
        return pd.DataFrame()
    # Cells without a truth (a failed reference) are listed too: "not checked", and why.
    no_truth = ok["truth_source"].eq("none") if "truth_source" in ok else False
    judged = ok[(ok["bias_test"].fillna("none") != "none") | no_truth]
    samplers = sorted(judged["sampler"].unique(), key=_order)
    rows = []
    for (target, dim), g in judged.groupby(["target", "dim"]):
        source = g["truth_source"].iloc[0] if "truth_source" in g else "unknown"
        row = {"target": target, "d": dim, "truth": TRUTH_TEXT.get(source, source)}
        if source == "none":
            row["truth"] = f"none: {g['truth_failure'].dropna().iloc[0]}"
        elif "truth_caveat" in g and g["truth_caveat"].fillna("").astype(str).ne("").any():
            row["truth"] += f" {ROUTES_DISAGREE_MARK}"
        for sampler in samplers:
            h = g[g["sampler"] == sampler]
            biased = int(aggregate.wrong_answers(h).sum())
            row[sampler] = (
                f"{len(h) - biased}/{len(h)}" + (" ✗" if biased else "") if len(h) else "–"
            )
            if source == "none" and len(h):
                row[sampler] = "not checked"
        rows.append(row)
    return pd.DataFrame(rows)


TRUTH_RECOVERED_TEXT = (
    "Runs whose moments agree with the truth (not *biased*: {meaning}) out of the finished"
    " runs the bias test judged, on the model's own variables (`sigma`, not the"
    " `sigma_log__` a sampler moves in); ✗: at least one run of that cell is biased; –: not"
    " run."
)


def truth_recovered(runs: pd.DataFrame) -> str:
    table = truth_recovered_table(runs)
    if table.empty:
        return ""
    samplers = list(table.columns[3:])
    lines = [
        "## Truth recovered\n",
        TRUTH_RECOVERED_TEXT.format(meaning=policy.BIASED_MEANING) + "\n",
        power_sentence() + "\n",
        "| target | d | truth | " + " | ".join(f"`{s}`" for s in samplers) + " |",
        "|---|---|---|" + "---|" * len(samplers),
    ]
    lines += ["| " + " | ".join(str(v) for v in row) + " |" for row in table.itertuples(False)]
    if table["truth"].str.startswith("none:").any():
        lines += ["", NO_TRUTH_TEXT]
    caveat = truth_caveat_text(runs)
    if caveat:
        lines += ["", caveat]
    space = bias_space_text(runs)
    if space:
        lines += ["", space]
    return "\n".join(lines) + "\n"


def bias_space_text(runs: pd.DataFrame) -> str:
    """Which cells' bias test is in the sampler's space, not the model's (``bias_space``:
    no draws of the truth to map through the model), and why; "" where every one is in the
    model's own variables (or the records predate the column)."""
    if "bias_space" not in runs:
        return ""
    hit = runs[runs["bias_space"].eq("sampler")]
    if hit.empty:
        return ""
    lines = [
        "Tested in the sampler's space (`sigma_log__`, not `sigma`), for want of draws of the"
        " truth to map through the model:"
    ]
    for (target, dim), g in hit.groupby(["target", "dim"]):
        why = g["bias_space_reason"].fillna("").astype(str)
        lines.append(
            f"- `{target}` d = {dim}: {why[why.ne('')].iloc[0] if why.ne('').any() else '?'}."
        )
    return "\n".join(lines)


# The bias test's measured power on injected failures (benchmarks/bias_power.py --out).
MEASURED_POWER = Path(__file__).resolve().parents[2] / "benchmarks" / "measured" / "bias_power.tsv"
# The failures of benchmarks/bias_power.py, in the words of the power sentence.
POWER_FAILURES = (
    (("shift_0.2sd",), "a mean shift of 0.2 posterior SD"),
    (("var_x0.7", "var_x1.3"), "a variance ×0.7 or ×1.3"),
    (("ula_x1.1", "ula_x1.3"), "unadjusted Langevin's stationary bias (variance ×1.1 or ×1.3)"),
    (("stuck_copy", "stuck_point"), "a quarter of the chains stuck 3 posterior SD away"),
)


def _percent_range(rates) -> str:
    lo, hi = min(rates), max(rates)
    return f"{lo:.0%}" if round(100 * lo) == round(100 * hi) else f"{lo:.0%}–{hi:.0%}"


def power_sentence(path=None) -> str:
    """One sentence of the bias test's measured power, from ``path`` (by default
    :data:`MEASURED_POWER`, the table of benchmarks/bias_power.py): the range of the rate
    flagged biased over the rows (targets and chain shapes) of each kind of failure, and of
    every failure whose mean error exceeds half a posterior SD with a bulk ESS of at least 100.
    Says so where the table is absent."""
    path = Path(path) if path is not None else MEASURED_POWER
    if not path.exists():
        return (
            "The bias test's power on injected failures was not measured here"
            " (benchmarks/bias_power.py writes it)."
        )
    table = pd.read_csv(path, sep="\t")
    parts = []
    bar = table[table["meets_bar"].fillna("").astype(str) != ""]
    if len(bar):
        parts.append(
            "a mean over half a posterior SD off, with a bulk ESS of at least 100, is caught in"
            f" {_percent_range(bar['rate_biased'])} of runs"
        )
    for failures, words in POWER_FAILURES:
        rows = table[table["failure"].isin(failures)]
        if len(rows):
            parts.append(f"{words} in {_percent_range(rows['rate_biased'])}")
    dims = ", ".join(str(d) for d in sorted(table["dim"].unique()))
    return (
        f"Measured power of this test (benchmarks/bias_power.py: {table['replicates'].iloc[0]}"
        f" runs of each failure per target and chain shape of the shipped configs, d = {dims}):"
        f" {'; '.join(parts)}."
    )


NO_TRUTH_TEXT = (
    "Where the truth is *none*, the reference rule's long NUTS run failed its gates"
    f" ({policy.REFERENCE_GATES_TEXT}): every cost, ESS, R-hat, divergence count and verdict"
    " above stands, but no run's bias was checked (*not checked*), and the ESS calibration"
    " has nothing to compare with. What you can do: define `truth(dim)` in the model's file if"
    " you know the moments; where R-hat or the bulk ESS fell short, raise `REFERENCE_NUTS`"
    " draws (or `target_accept`) in the model's file; divergences of a centered hierarchical"
    " model (a funnel) do not go away that way, and neither NUTS reference nor sampler can be"
    " trusted there: define `reference_model(dim)` (or `reference_model()`) in the model's"
    " file, its non-centered form, which has the same posterior (the reference is then"
    " computed from it: examples/eight_schools_centered.py), or give the target"
    " `reference_draws:` in the config, draws of your model's variables you trust (an ArviZ"
    f" netCDF or CSV file, gated on {policy.USER_DRAWS_GATES_TEXT})."
)


def machine(runs: pd.DataFrame) -> str:
    first = runs.iloc[0]
    get = lambda k: first.get(k, "unknown")  # noqa: E731
    versions = ", ".join(
        f"{c.removeprefix('version_')} {first[c]}" for c in runs.columns if c.startswith("version_")
    )
    return (
        "## Machine and software\n\n"
        f"- CPU: {get('prov_cpu')} (host `{get('prov_hostname')}`)\n"
        f"- BLAS: {get('prov_blas')}; PyTensor backend: {get('backend')}\n"
        f"- Packages: {versions}\n"
        f"- git commit: `{get('prov_git_commit')}`\n"
    )


def verdict_section(
    runs: pd.DataFrame, baseline: str | None, calibration: pd.DataFrame | None = None
) -> str:
    from essbench import verdict

    said = verdict.sentences(runs, baseline, calibration) if baseline else []
    ran = sorted(contenders(runs)["sampler"].unique(), key=_order)
    if not said and len(ran) == 1:
        return (
            f"No ratio: the study runs one sampler (`{ran[0]}`); its cost per effective sample"
            " is in the headline table below.\n"
        )
    if not said:
        return (
            "No verdict: the baseline sampler needs at least"
            f" {verdict.MIN_REPLICATES} successful replicates in a cell beside another"
            " sampler's.\n"
        )
    intro = (
        "Ratios of geometric-mean cost per effective sample (sampling seconds ÷ mean bulk ESS)"
        f" to the baseline `{baseline}`, with 95% bootstrap intervals over replicates; where a"
        " sampler's estimator ESS disagrees with its empirical ESS beyond its interval, its"
        " cost is mean sampling seconds ÷ the empirical ESS instead, and a note says so;"
        " a caveat shared by several rows is said once, below the table.\n"
    )
    return intro + "\n" + verdict.table_markdown(runs, baseline, calibration)


def oracle_section(runs: pd.DataFrame) -> str:
    """The study's exact runs: how often each flag fired on a perfect sampler."""
    from essbench.calibration import oracle_table

    table = oracle_table(runs)
    if table.empty:
        return ""
    lines = [
        "## Flags on exact draws (the oracle)\n",
        "The `exact` sampler returns independent draws from the target itself, shaped like a"
        " chain run, through the same diagnostics as every sampler: every flag it raises is a"
        f" false positive. Each flag's documented rate is at most {policy.NOMINAL_RATE:.0%}"
        " per run: benchmarks/flag_calibration.py measures it over 1,000 replicates per"
        " target and chain shape of the shipped configs (its measured table:"
        " benchmarks/measured/flag_calibration.tsv). Rates of this study's own oracle runs;"
        " – where the flag does not apply:\n",
        "| target | d | oracle runs | " + " | ".join(policy.FLAGS.values()) + " |",
        "|---|---|---|" + "---|" * len(policy.FLAGS),
    ]
    for r in table.itertuples():
        cells = [
            "–" if not math.isfinite(getattr(r, flag)) else f"{getattr(r, flag):.0%}"
            for flag in policy.FLAGS
        ]
        lines.append(f"| {r.target} | {r.dim} | {r.n_runs} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def answer_section(decision: pd.DataFrame) -> str:
    """The decision table and its paragraph (essbench.decision)."""
    from essbench import decision as answer

    return answer.markdown(decision)


def summary_markdown(
    study: str,
    config_hash: str,
    runs: pd.DataFrame,
    summary: pd.DataFrame,
    published: dict | None,
    calibration: pd.DataFrame | None = None,
    baseline: str | None = None,
    decision: pd.DataFrame | None = None,
    quantities: pd.DataFrame | None = None,
) -> str:
    """The study's summary; ``quantities``: its named quantities' table
    (``tables/quantities.csv``), stated after the headline where it has rows."""
    from essbench import quantity_summary

    n_ok = int((runs["status"] == "ok").sum())
    total = runs["sampling_seconds"].sum(skipna=True)
    parts = [
        f"# essbench study `{study}`\n",
        f"{len(runs)} runs ({n_ok} succeeded) of {runs['sampler'].nunique()} samplers on "
        f"{runs['target'].nunique()} target(s) at d ∈ {sorted(runs['dim'].unique().tolist())}, "
        f"replicates {sorted(runs['replicate'].unique().tolist())};"
        f" {total:.1f} s of sampling in all. "
        f"Config hash `{config_hash}`.\n",
        "Cost per effective sample = sampling seconds (warm-up + draws; compilation excluded) "
        "÷ ArviZ rank-normalized bulk ESS. Lower is better.\n",
        "## Verdict\n",
        verdict_section(runs, baseline, calibration),
        *([truth_caveat_text(runs)] if truth_caveats(runs) else []),
        *([answer_section(decision)] if decision is not None else []),
        "## Headline\n",
        headline(summary, baseline),
    ]
    if quantities is not None and len(quantities):
        cells = quantity_summary.summary_table(quantities)
        parts.append(quantity_summary.section(quantities, cells, baseline))
    if published:
        parts.append(tutorial_comparison(runs, published))
    if calibration is not None:
        parts.append(calibration_section(calibration))
    if section := evals_to_bias_section(runs):
        parts.append(section)
    parts += [
        timing_section(runs),
        truth_recovered(runs),
        flagged(runs),
        oracle_section(runs),
        censored(runs),
        failures(runs),
        machine(runs),
    ]
    return "\n".join(parts)
