"""Issue 30's answer as a decision table (essbench.decision) and the verdict as a table with
its shared caveats said once (essbench.verdict.table_markdown), on runs whose answer is known."""

import io

import numpy as np
import pandas as pd
import pytest

from essbench import decision, verdict


def _runs():
    """Two targets, four samplers, five replicates: on `easy` emcee costs 10x nutpie and
    pymc_nuts 2x nutpie; on `hard` emcee is biased (did not recover) and censored."""
    rng = np.random.default_rng(0)
    rows = []
    for target, dim in (("easy", 2), ("hard", 32)):
        for rep in range(5):
            for sampler, cost in (("nutpie", 1e-4), ("pymc_nuts", 2e-4), ("emcee", 1e-3)):
                wrong = target == "hard" and sampler == "emcee"
                c = cost * float(np.exp(rng.normal(0, 0.1)))
                rows.append(
                    {
                        "sampler": sampler,
                        "target": target,
                        "dim": dim,
                        "replicate": rep,
                        "status": "ok",
                        "cost_per_ess_mean": c,
                        "sampling_seconds": c * 400,
                        "censored": sampler == "emcee",
                        "unreliable": sampler == "emcee",
                        "ess_goal_reliable": True,
                        "unreliable_reason": f"chain/tau={10 + rep}<50"
                        if sampler == "emcee"
                        else "",
                        "biased": wrong,
                        "bias_reason": "a mean 3 posterior SD from the truth (> 1)"
                        if wrong
                        else "",
                        "error_sd_max": 3.0 if wrong else 0.05,
                    }
                )
    rows.append({**rows[0], "sampler": "dynesty", "status": "failed", "reason": "over budget"})
    rows.append(
        {
            **rows[0],
            "sampler": "dynesty",
            "replicate": 1,
            "status": "failed",
            "reason": "over budget",
        }
    )
    return pd.DataFrame(rows)


def test_the_decision_table_picks_the_cheapest_that_recovered_the_truth():
    geometry = pd.DataFrame(
        [
            decision.geometry("gaussian_illcond", 4, {"condition": 100.0, "rotation_seed": 0}),
        ]
    )
    assert geometry["condition_number"].iloc[0] == pytest.approx(100, rel=0.1)
    geometry = pd.DataFrame(
        {
            "target": ["easy", "hard"],
            "dim": [2, 32],
            "condition_number": [1.0, 1e3],
            "tail_kurtosis": [0.0, 0.0],
            "modes": [1, 1],
            "geometry_source": ["exact draws"] * 2,
        }
    )
    table = decision.table(_runs(), None, geometry).set_index("target")
    easy, hard = table.loc["easy"], table.loc["hard"]
    assert easy["gradient_sampler"] == "nutpie" and easy["free_sampler"] == "emcee"
    assert easy["ratio"] == pytest.approx(10, rel=0.15)
    assert easy["ratio_lo"] < easy["ratio"] < easy["ratio_hi"] and easy["ratio_lo"] > 1
    assert easy["ratio_bound"] == "at least"  # every emcee run censored
    assert "dynesty: 2 of 2 runs failed; over budget" in easy["failed"]
    assert hard["free_sampler"] == "" and np.isnan(hard["ratio"])
    assert "emcee: did not recover the truth (5 of 5 runs" in hard["failed"]
    assert "3 posterior SD" in hard["failed"]
    words = decision.paragraph(table.reset_index())
    assert "paid on 1 of 2 targets and dimensions" in words and "`easy` (d = 2)" in words
    assert "no gradient-free sampler recovered the truth at all" in words and "`hard`" in words
    assert f"{easy['ratio']:.3g}" in words  # the number comes from the table
    text = decision.markdown(table.reset_index())
    # Read back from its CSV (empty texts become nan), it says the same.
    buffer = io.StringIO()
    table.reset_index().to_csv(buffer, index=False)
    again = pd.read_csv(io.StringIO(buffer.getvalue()))
    assert decision.markdown(again) == text and decision.paragraph(again) == words
    assert "nan" not in text
    assert "| `easy` | 2 | 1 |" in text and "| `hard` | 32 | 1e+03 |" in text
    # The README's opening: two sentences from the table, with the folder's link.
    opening = decision.headline(again, "published/answer-x/")
    assert opening.count(". ") == 1 and opening.endswith(".")
    assert "[published/answer-x/](published/answer-x/)" in opening
    assert "on 2 posteriors and dimensions, gradient-based sampling paid on 1," in opening
    assert f"{easy['ratio']:.3g}× (median" in opening
    assert "on 1 more no gradient-free sampler recovered the truth at all" in opening


def test_the_readme_opens_with_the_newest_published_answer(tmp_path, monkeypatch):
    from essbench import docs

    monkeypatch.setattr(docs, "REPO", tmp_path)
    assert "is not published yet" in docs.published_answer()
    table = decision.table(_runs(), None, None)
    for day in ("2026-12-01", "2026-12-09"):
        (tmp_path / "published" / f"answer-{day}" / "tables").mkdir(parents=True)
        table.to_csv(tmp_path / f"published/answer-{day}/tables/decision.csv", index=False)
    assert "([published/answer-2026-12-09/](published/answer-2026-12-09/))" in (
        docs.published_answer()
    )


def test_the_decision_figure_is_drawn(tmp_path):
    table = decision.table(_runs())
    decision.figure(table, [tmp_path / "d.png"])
    assert (tmp_path / "d.png").stat().st_size > 5_000


def test_the_verdict_table_says_a_shared_caveat_once_with_every_reason():
    runs = _runs()
    text = verdict.table_markdown(runs, "emcee")
    said = verdict.sentences(runs, "emcee")
    # The same numbers as the sentences, one row each.
    for row in verdict.rows(runs, "emcee"):
        if "ratio" in row:
            assert any(f"costs at most {row['ratio']:.3g}×" in s for s in said)
    assert text.count("did not reach a trustworthy ESS") == 1  # said once, for 2 rows
    assert text.count("[1] 5 of 5") == 2
    # Every reason kind the flagged runs give, with the worst value over both cells.
    assert "chain/tau=10<50 at worst, in 10 runs" in text
    assert "did not recover the posterior" in text  # the hard cell: no ratio


def test_a_reference_run_gives_the_geometry_of_a_target_without_exact_draws():
    import numpy as np

    from essbench.metrics import shape_of

    rng = np.random.default_rng(1)
    x = rng.normal(size=(4000, 3)) * [1.0, 3.0, 10.0]
    shape = shape_of(x)
    assert shape["condition_number"] == pytest.approx(100, rel=0.1)
    assert abs(shape["tail_kurtosis"]) < 0.5
    # Weighted draws (a nested sampler's): doubling a draw's weight = repeating it.
    w = rng.uniform(1, 2, size=200).round()
    repeated = np.repeat(x[:200], w.astype(int), axis=0)
    assert shape_of(x[:200], w)["condition_number"] == pytest.approx(
        shape_of(repeated)["condition_number"]
    )
    heavy = shape_of(rng.laplace(size=(20000, 1)))["tail_kurtosis"]
    assert 2 < heavy < 4.5  # Laplace's excess kurtosis is 3 (its estimate's sd here ~0.35)

    ok = {"status": "ok", "route": "reference_model", **shape}
    row = decision.geometry("eight_schools", 10, {}, reference=ok)
    assert row["condition_number"] == shape["condition_number"]
    assert row["geometry_source"] == "reference run (reference_model)"
    failed = decision.geometry("eight_schools", 10, {}, reference={"status": "failed"})
    assert np.isnan(failed["condition_number"])
    assert failed["geometry_source"] == "unknown: the reference failed its gates"
    old = decision.geometry("eight_schools", 10, {}, reference={"status": "ok", "mean": [0]})
    assert "predates" in old["geometry_source"]
    assert decision.geometry("eight_schools", 10, {})["geometry_source"] == decision.NO_GEOMETRY


def test_the_headline_names_a_cell_only_a_gradient_free_sampler_recovered():
    """The answer study's funnel at d = 8: NUTS failed, emcee recovered it; the headline
    says so (it counted such a cell nowhere before), and a zero count is not said."""
    rows = [
        ("banana", 8, "nutpie", "zeus", 190.0, 150.0, 240.0),
        ("neals_funnel", 8, "", "emcee", np.nan, np.nan, np.nan),
    ]
    table = pd.DataFrame(
        rows,
        columns=[
            "target",
            "dim",
            "gradient_sampler",
            "free_sampler",
            "ratio",
            "ratio_lo",
            "ratio_hi",
        ],
    )
    for column in decision.TEXT_COLUMNS:
        table[column] = table.get(column, "")
    opening = decision.headline(table, "published/answer-x/")
    assert "gradient-based sampling paid on 1," in opening
    assert "On 1 only a gradient-free sampler recovered the truth (`neals_funnel` (d = 8))" in (
        opening
    )
    assert "did not pay on 0" not in opening and "on 0 the" not in opening
