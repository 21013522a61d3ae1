"""A failed reference is a result, not a crash: when the reference rule's gates fail, it
records why, and the study goes on without a truth (every cost, ESS, R-hat and verdict is
reported; the bias test is not run; the summary says why and what the user can do)."""

import json

import pandas as pd
import pytest
import yaml
from conftest import snakemake

# A model whose reference cannot pass the bulk-ESS gate (> 10,000 on 2 x 150 draws): the
# gates fail every time, whatever the seed, and fast.
SHORT_REFERENCE = (
    "REFERENCE_NUTS = {'chains': 2, 'tune': 150, 'draws': 150, 'target_accept': 0.8}\n"
    "def build_model():\n"
    "    import pymc as pm\n"
    "    with pm.Model() as model:\n"
    "        pm.Normal('x', 0.0, 1.0, shape=2)\n"
    "    return model\n"
)


@pytest.fixture
def short_reference(tmp_path):
    from essbench import registry

    path = tmp_path / "short_reference.py"
    path.write_text(SHORT_REFERENCE)
    registry.load_file("target", "short_reference", path)
    yield path
    registry.forget_user()


def test_a_reference_that_fails_its_gates_writes_why_and_raises_nothing(short_reference):
    from essbench.pipeline import reference
    from essbench.targets import load_truth, reference_failure

    out = short_reference.parent / "ref.json"
    record = reference("short_reference", 2, {}, "numba", out, threads=1)
    assert record["status"] == "failed"
    assert any(r.startswith("bulk ESS") and "is not > 10000" in r for r in record["reasons"])
    assert json.loads(out.read_text())["status"] == "failed"
    assert load_truth("short_reference", 2, {}, out) is None
    assert "bulk ESS" in reference_failure(out)


@pytest.mark.workflow
def test_a_study_whose_reference_fails_goes_on_and_says_so(tmp_path):
    (tmp_path / "short_reference.py").write_text(SHORT_REFERENCE)
    config = {
        "study": "noref",
        "study_seed": 3,
        "replicates": [0, 1],
        "targets": {"short_reference": {"file": "short_reference.py"}},
        "samplers": {
            "pymc_nuts": {"tune": 200, "draws": 200, "chains": 2, "cores": 1},
            "emcee": {"burn": 100, "steps": 300},
        },
    }
    (tmp_path / "noref.yaml").write_text(yaml.safe_dump(config))
    snakemake("--cores", "2", "--configfile", "noref.yaml", cwd=tmp_path)

    results = tmp_path / "results" / "noref"
    runs = pd.read_parquet(results / "tables" / "runs.parquet")
    assert len(runs) == 4 and (runs["status"] == "ok").all()
    assert set(runs["dim"]) == {2}  # counted from the model: no dims in the config
    assert (runs["cost_per_ess_mean"] > 0).all() and runs["rhat_max"].notna().all()
    assert (runs["truth_source"] == "none").all() and (runs["bias_test"] == "none").all()
    failure = runs["truth_failure"]
    assert failure.str.startswith("the reference failed its gates (").all(), failure
    assert failure.str.contains("bulk ESS").all(), failure
    summary = (results / "summary.md").read_text()
    assert "| `short_reference` | 2 | `pymc_nuts` |" in summary  # the verdict stands
    row = next(line for line in summary.splitlines() if line.startswith("| short_reference |"))
    assert "| none: the reference failed its gates (" in row and "bulk ESS" in row, row
    assert row.count("not checked") == 2, row
    assert "What you can do:" in summary
    assert "No successful runs with a truth to calibrate against." in summary
