import numpy as np
import pandas as pd
import pytest

from essbench import paper, scaling


def test_number_words_and_camel_names():
    assert paper.number_word(50) == "Fifty"
    assert paper.number_word(64) == "SixtyFour"
    assert paper.number_word(256) == "TwoHundredFiftySix"
    assert paper.camel("pymc_nuts") == "PymcNuts"
    assert paper.camel("gaussian_iid") == "GaussianIid"


def _runs(alpha, dims=(4, 8, 16, 32, 64, 128), seeds=3, noise=0.05, seed=0):
    rng = np.random.default_rng(seed)
    rows = []
    for d in dims:
        for s in range(seeds):
            cost = 1e-4 * d**alpha * np.exp(noise * rng.standard_normal())
            rows.append(
                {
                    "sampler": "pymc_nuts",
                    "target": "t",
                    "dim": d,
                    "replicate": s,
                    "status": "ok",
                    "unreliable": False,
                    "cost_per_ess_mean": cost,
                }
            )
    return pd.DataFrame(rows)


def test_scaling_fit_recovers_a_known_exponent():
    fit = scaling.fit(_runs(1.25), n_boot=300).iloc[0]
    assert fit["alpha"] == pytest.approx(1.25, abs=0.05)
    assert fit["alpha_lo"] < fit["alpha"] < fit["alpha_hi"]
    assert 0 < fit["alpha_hi"] - fit["alpha_lo"] < 0.2
    assert fit["prefactor_s"] == pytest.approx(1e-4, rel=0.2)
    assert fit["textbook_alpha"] == 1.25


@pytest.mark.parametrize(
    ("dims", "why"),
    [
        ((8,), "1 dimension: a slope needs at least 3"),
        ((8, 64), "2 dimensions"),
        ((32, 64, 128), "d spans only x4"),
        ((2, 8, 32), "d <= 32: per-step overhead dominates"),
    ],
)
def test_no_scaling_fit_where_the_dimensions_cannot_show_one(dims, why):
    fit = scaling.fit(_runs(1.25, dims=dims), n_boot=20).iloc[0]
    assert np.isnan(fit["alpha"]) and fit["note"].startswith(why)


def test_scaling_fit_excludes_unreliable_and_failed_runs():
    runs = _runs(1.0)
    runs.loc[0, "unreliable"] = True
    runs.loc[1, "status"] = "failed"
    runs.loc[1, "cost_per_ess_mean"] = np.nan
    fit = scaling.fit(runs, n_boot=50).iloc[0]
    assert fit["n_excluded"] == 2 and fit["n_runs"] == len(runs) - 2


def test_macros_equal_their_table_rows():
    alpha = scaling.fit(_runs(2.0), n_boot=50)
    summary = pd.DataFrame(
        [
            {"sampler": "emcee", "target": "t", "dim": 50, "cost_per_ess_mean_median": 0.05},
            {"sampler": "pymc_nuts", "target": "t", "dim": 50, "cost_per_ess_mean_median": 0.0006},
        ]
    )
    speedup = paper.speedup_table(summary, "emcee")
    text = paper.macros(alpha, speedup, "test")
    values = paper.parse_macros(text)
    assert values["speedupPymcNutsOverEmceeTDFifty"] == paper.fmt(0.05 / 0.0006)
    assert values["alphaPymcNutsT"] == paper.fmt(alpha["alpha"].iloc[0])
    assert "% speedup.csv: sampler=pymc_nuts, target=t, dim=50, column speedup" in text
    tex = paper.alpha_latex(alpha, "prov")
    assert "\\toprule" in tex and "\\bottomrule" in tex and "pymc\\_nuts" in tex
