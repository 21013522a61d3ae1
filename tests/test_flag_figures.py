"""See why a run is flagged: the worst parameter of each flagged run is kept, and drawn."""

import json

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from essbench import flag_figures, html_report

LABELS = flag_figures.parameter_labels(["x"], [(5,)], [slice(0, 5)])


def _draws(chains=4, n=800, seed=0):
    """Independent draws, but one chain of x[3] shifted (R-hat) and x[1]'s mean off by 0.3
    (against a true mean of 0: biased)."""
    draws = np.random.default_rng(seed).normal(size=(chains, n, 5))
    draws[1, :, 3] += 0.8
    draws[:, :, 1] += 0.3
    return draws


def _record(**flags):
    base = {
        "sampler": "pymc_nuts",
        "target": "gaussian_iid",
        "dim": 5,
        "replicate": 0,
        "status": "ok",
        "ensemble": False,
        "truth_mean": [0.0] * 5,
        "unreliable_reason": "",
    }
    return base | flags


def test_parameter_labels_index_every_value_variable():
    labels = flag_figures.parameter_labels(
        ["mu", "L", "sigma_log__"], [(2,), (2, 2), ()], [slice(0, 2), slice(2, 6), slice(6, 7)]
    )
    assert labels == ["mu[0]", "mu[1]", "L[0,0]", "L[0,1]", "L[1,0]", "L[1,1]", "sigma_log__"]


def test_the_worst_parameter_is_the_one_that_trips_each_flag():
    record = _record(flag_rhat=True, biased=True, flag_divergences=None, censored=False)
    assert flag_figures.reasons(record) == ["flag_rhat", "biased"]
    per = flag_figures.statistics(record, _draws())
    assert flag_figures.worst_parameters(record, per) == {"flag_rhat": 3, "biased": 1}


def test_a_censored_run_shows_the_parameter_the_ess_goal_waits_for():
    draws = np.random.default_rng(1).normal(size=(2, 400, 5))
    draws[:, :, 2] = np.cumsum(draws[:, :, 2], axis=1) * 0.1  # a slow random walk
    record = _record(censored=True, flag_rhat=False)
    per = flag_figures.statistics(record, draws)
    assert flag_figures.worst_parameters(record, per) == {"censored": 2}


def test_an_unflagged_run_keeps_nothing(tmp_path):
    record = _record(flag_rhat=False, biased=False, flag_chain_tau=None)
    assert flag_figures.keep(tmp_path / "r0.nc", record, _draws(), LABELS) == {}
    assert not list(tmp_path.iterdir())


def test_a_flagged_ensemble_keeps_its_worst_parameters_few_walkers_thinned(tmp_path):
    record = _record(ensemble=True, flag_rhat=True, flag_chain_tau=True, biased=True)
    draws = _draws(chains=12, n=2500)
    diverging = np.zeros((12, 2500), bool)
    fields = flag_figures.keep(tmp_path / "r0.nc", record, draws, LABELS, {"diverging": diverging})
    assert fields["flagged_draws_path"] == str(tmp_path / "r0.nc")
    assert fields["flagged_draws_bytes"] == (tmp_path / "r0.nc").stat().st_size > 0
    assert "rank R-hat above its threshold: x[3]" in fields["flagged_worst"]
    assert "biased (the bias test): x[1]" in fields["flagged_worst"]
    tree = xr.open_datatree(tmp_path / "r0.nc", engine="h5netcdf")
    posterior = tree["posterior"]
    meta = json.loads(posterior.attrs["essbench_worst"])
    assert {"x[3]", "x[1]"} <= set(posterior.data_vars) and len(posterior.data_vars) <= 3
    assert meta["chains"] == 12 and meta["stride"] == 3
    assert posterior.sizes == {"chain": flag_figures.MAX_CHAINS, "draw": 834}
    assert list(posterior["draw"].values[:3]) == [0, 3, 6]  # draw numbers of the run
    np.testing.assert_array_equal(posterior["x[3]"].values, draws[:8, ::3, 3])
    assert tree["sample_stats"]["diverging"].shape == (8, 834)


def _runs(tmp_path):
    """A flagged cell whose replicate 1 kept its draws, a flagged cell that kept none, an
    unflagged cell and a flagged oracle run: only the first two get a figure entry."""
    record = _record(flag_rhat=True, unreliable=True, unreliable_reason="rhat=1.05>1.01")
    fields = flag_figures.keep(tmp_path / "r1.nc", record, _draws(), LABELS)
    rows = [
        _record(replicate=0, unreliable=False),
        record | fields | {"replicate": 1},
        record | {"replicate": 2, "flagged_draws_path": None},
        _record(sampler="emcee", unreliable=True, flagged_draws_path=None),
        _record(sampler="emcee", replicate=1, unreliable=False),
        _record(sampler="nutpie", unreliable=False),
        _record(sampler="exact", unreliable=True, flagged_draws_path=str(tmp_path / "r1.nc")),
    ]
    return pd.DataFrame(rows)


def test_each_flagged_cell_gets_a_figure_or_says_why_not(tmp_path):
    index = flag_figures.write_figures(_runs(tmp_path), tmp_path / "figures")
    assert [(c["sampler"], c["n_flagged"], c["n_runs"]) for c in index] == [
        ("emcee", 1, 2),
        ("pymc_nuts", 2, 3),
    ]
    emcee, nuts = index
    assert emcee["figure"] is None and "none kept its worst parameter's draws" in emcee["caption"]
    assert nuts["figure"] == "gaussian_iid-d5-pymc_nuts.png"
    assert (tmp_path / "figures" / nuts["figure"]).stat().st_size > 10_000
    assert nuts["caption"].startswith(
        "pymc_nuts on gaussian_iid at d = 5: 2 of 3 runs flagged or censored; replicate 1"
        " shown (rank R-hat above its threshold; rhat=1.05>1.01). x[3] has the largest rank"
        " R-hat (R-hat 1."
    )
    assert "all 4 chains" in nuts["caption"]
    saved = json.loads((tmp_path / "figures" / "index.json").read_text())["cells"]
    assert saved == index


def test_the_report_inlines_the_flag_figures(tmp_path):
    folder = tmp_path / "figures"
    index = flag_figures.write_figures(_runs(tmp_path), folder)
    parts = "\n".join(html_report.flag_figures_section(folder))
    assert parts.count("data:image/png;base64,") == 1
    assert "Why runs are flagged" in parts
    assert "none kept its worst parameter&#x27;s draws" in parts
    assert index[1]["caption"][:40] in parts


@pytest.mark.parametrize("flags", [{}, {"unreliable": False}])
def test_a_study_without_flagged_cells_has_no_section(tmp_path, flags):
    runs = pd.DataFrame([_record(**flags)])
    assert flag_figures.write_figures(runs, tmp_path) == []
    assert html_report.flag_figures_section(tmp_path) == []


def test_a_one_chain_run_gets_its_trace_without_a_rank_plot(tmp_path):
    """arviz-plots' rank test refuses a single chain: the figure of a flagged one-chain run
    (an ESS-goal NUTS run of one chain) shows its trace alone instead of failing the job."""
    record = _record(biased=True, bias_reason="|z| = 9 > 4")
    draws = np.random.default_rng(3).normal(size=(1, 800, 5))
    draws[:, :, 1] += 0.3  # x[1]'s mean off (a true mean of 0)
    fields = flag_figures.keep(tmp_path / "r0.nc", record, draws, LABELS)
    runs = pd.DataFrame([record | fields])
    [cell] = flag_figures.write_figures(runs, tmp_path / "figures")
    assert (tmp_path / "figures" / cell["figure"]).stat().st_size > 5_000
