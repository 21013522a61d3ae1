"""Samplers and targets from files outside the package, declared options, namespaced records.

The workflow test at the end is the "one file" promise: a throw-away sampler module and a
throw-away target module in a temporary directory, and the worked example of "Benchmark
your own model", run end to end by a tiny config without touching any file of the repo.
"""

import json
import subprocess
import textwrap

import pandas as pd
import pytest
import yaml
from conftest import REPO, snakemake

from essbench import config as ebconfig
from essbench import options as opts
from essbench import registry

PLUGINS = REPO / "tests" / "plugins"
EXAMPLE = REPO / "examples" / "linear_regression_outliers.py"


def study(**changes):
    base = {
        "study": "byo",
        "replicates": [0],
        "dims": [3],
        "targets": {"gaussian_iid": {}},
        "samplers": {"emcee": {}},
    }
    return base | changes


def problems(config) -> str:
    with pytest.raises(ebconfig.ConfigError) as info:
        ebconfig.validate(config)
    return str(info.value)


# -- declared options --------------------------------------------------------------------


@pytest.mark.parametrize(
    "option, value, expected",
    [
        (opts.probability("p", 0.5, ""), 1.0, "1.0 is out of range: must be a number in (0, 1)"),
        (opts.probability("p", 0.5, ""), 0, "0 is out of range: must be a number in (0, 1)"),
        (opts.count("n", 1, ""), 0, "0 is out of range: must be an integer ≥ 1"),
        (opts.count("n", 1, ""), 2.5, "2.5 is not an integer: must be an integer ≥ 1"),
        (opts.count("n", 1, ""), True, "True is not an integer"),
        (opts.positive("s", 1.0, ""), "fast", "'fast' is not a number: must be a number > 0"),
        (opts.positive("s", 1.0, ""), float("nan"), "nan is not a number"),
        (opts.choice("m", "a", "", ("a", "b")), "c", "'c' is not one of a, b"),
        (opts.Option("flag", bool, False, ""), "yes", "'yes' is not a boolean"),
        (
            opts.Option("c", float, 1.0, "", low=1.0),
            0.5,
            "0.5 is out of range: must be a number ≥ 1",
        ),
        (opts.count("n", 1, ""), None, "None is not allowed: must be an integer ≥ 1"),
    ],
)
def test_every_option_is_checked_by_type_and_range(option, value, expected):
    [line] = opts.check({option.name: option}, {option.name: value}, "samplers.x")
    assert line.startswith(f"config: samplers.x.{option.name}: {value!r} ") and expected in line


def test_a_declared_default_must_itself_be_allowed():
    with pytest.raises(ValueError, match="its default 0 is out of range"):
        opts.count("n", 0, "")


@pytest.mark.parametrize(
    "target, options, expected",
    [
        ("banana", {"b": "twisty"}, "targets.banana.b: 'twisty' is not a number"),
        ("gaussian_illcond", {"condition": 0.5}, "targets.gaussian_illcond.condition: 0.5 is out"),
        ("gaussian_illcond", {"rotation_seed": -1}, "rotation_seed: -1 is out of range"),
        (
            "gaussian_iid",
            {"b": 1},
            "targets.gaussian_iid.b: unknown option; options of gaussian_iid: none",
        ),
    ],
)
def test_target_options_are_checked_before_any_job(target, options, expected):
    dims = [10] if target == "eight_schools" else [3]
    config = study(targets={target: options}, dims=dims)
    assert expected in problems(config)


def test_sampler_probability_out_of_range_is_refused():
    config = study(samplers={"pymc_nuts": {"target_accept": 1.5}})
    assert "samplers.pymc_nuts.target_accept: 1.5 is out of range: must be a number in (0, 1)" in (
        problems(config)
    )


def test_target_defaults_are_filled_and_key_the_shared_outputs():
    explicit = ebconfig.validate(study(targets={"banana": {"b": 0.03}}))
    implicit = ebconfig.validate(study(targets={"banana": {}}))
    assert ebconfig.target_options(implicit, "banana") == {"b": 0.03}
    assert ebconfig.target_key(explicit, "banana") == ebconfig.target_key(implicit, "banana")


def test_old_keys_are_refused_with_their_new_name():
    config = study()
    config["seeds"] = config.pop("replicates")
    config["target_ess"] = {"ess": 100, "budget_seconds": 10}
    text = problems(config)
    assert "config: seeds: renamed to 'replicates'" in text
    assert "config: target_ess: renamed to 'ess_goal'" in text


def test_baseline_must_be_a_sampler_of_the_study():
    assert "config: baseline: 'emce' is not a sampler of this study (did you mean 'emcee'?)" in (
        problems(study(baseline="emce"))
    )
    full = ebconfig.validate(study(samplers={"pymc_nuts": {}, "nutpie": {}}))
    assert ebconfig.baseline(full) == "pymc_nuts"
    assert ebconfig.baseline(ebconfig.validate(study(samplers={"nutpie": {}, "emcee": {}}))) == (
        "emcee"
    )


# -- variants and shared rules -----------------------------------------------------------


def test_a_variant_is_its_module_with_other_defaults():
    emcee, vectorized = registry.sampler("emcee"), registry.sampler("emcee_vectorized")
    assert emcee.module is vectorized.module
    assert (emcee.DEFAULTS["vectorize"], vectorized.DEFAULTS["vectorize"]) == (False, True)
    assert {k: v for k, v in emcee.DEFAULTS.items() if k != "vectorize"} == {
        k: v for k, v in vectorized.DEFAULTS.items() if k != "vectorize"
    }
    assert emcee.COLOR != vectorized.COLOR


def test_the_shared_threads_rule():
    nuts = registry.sampler("pymc_nuts")
    assert not hasattr(nuts.module, "threads")
    assert nuts.threads({"chains": 4, "cores": 2}) == 2
    assert nuts.threads({"chains": 1, "cores": 2}) == 1
    assert registry.sampler("emcee").threads(registry.sampler("emcee").DEFAULTS) == 1


# -- files outside the package -----------------------------------------------------------


def test_a_user_file_declares_a_sampler_with_shared_defaults():
    plugin = registry.load_file("sampler", "rw_numpy", PLUGINS / "rw_numpy.py")
    assert plugin.NAME == "rw_numpy" and plugin.ENV == "sampling" and plugin.PACKAGES == ()
    assert plugin.LENGTH_OPTION == "draws" and plugin.WARMUP_OPTION == "tune"
    assert plugin.DEFAULTS == {"tune": 500, "draws": 2000, "chains": 2, "scale": 0.8}
    assert "rw_numpy" in registry.samplers()
    full = ebconfig.validate(
        study(samplers={"rw_numpy": {"file": str(PLUGINS / "rw_numpy.py"), "draws": 10}})
    )
    assert ebconfig.sampler_options(full, "rw_numpy")["draws"] == 10
    assert "file" not in ebconfig.sampler_options(full, "rw_numpy")
    settings = ebconfig.run_settings(full, "rw_numpy", "gaussian_iid", 3, 0)
    assert len(settings["sampler_file_sha256"]) == 64


BAD_FILES = {
    "missing.py": None,
    "syntax.py": "def build_model(dim)\n    pass\n",
    "imports.py": "import no_such_package_here\n",
    "empty.py": "DESCRIPTION = 'nothing else'\n",
    "raises.py": "def build_model(dim):\n    raise ValueError('dim must be 4')\n",
    "not_a_model.py": "def build_model(dim):\n    return 42\n",
    "wrong_name.py": "NAME = 'other'\ndef build_model(dim):\n    pass\n",
    "bad_options.py": textwrap.dedent(
        """
        from essbench.options import count
        OPTIONS = (count("n", 0, "zero is not allowed"),)
        def build_model(dim, n=0):
            pass
        """
    ),
}
BAD_MESSAGES = {
    "missing.py": "missing.py: no such file (looked for",
    "syntax.py": "syntax.py: importing it raised SyntaxError:",
    "imports.py": "imports.py: importing it raised ModuleNotFoundError: No module named",
    "empty.py": "empty.py: defines no build_model (a target module must define build_model or"
    " log_prob;",
    "raises.py": "raises.py: build_model(dim=3) raised ValueError: dim must be 4",
    "not_a_model.py": "not_a_model.py: build_model(dim=3) returned int, not a pymc.Model",
    "wrong_name.py": "wrong_name.py: declares NAME = 'other', not 'mine'",
    "bad_options.py": "bad_options.py: importing it raised ValueError: option n: its default 0",
}


@pytest.mark.parametrize("name", sorted(BAD_FILES))
def test_a_bad_user_file_is_one_line_naming_the_file(tmp_path, name):
    if BAD_FILES[name] is not None:
        (tmp_path / name).write_text(BAD_FILES[name])
    config = study(targets={"mine": {"file": str(tmp_path / name)}})
    [line] = problems(config).splitlines()
    assert line.startswith("config: targets.mine: ") and BAD_MESSAGES[name] in line, line


def test_a_shipped_name_cannot_be_taken_by_a_file():
    config = study(targets={"banana": {"file": str(PLUGINS / "scaled_gaussian.py")}})
    assert "'banana' is a shipped target; pick another name" in problems(config)


def test_sampler_statistics_cannot_overwrite_core_fields(tmp_path):
    from essbench import pipeline

    registry.load_file("sampler", "rw_numpy", PLUGINS / "rw_numpy.py")
    full = ebconfig.validate(
        study(
            samplers={"rw_numpy": {"file": str(PLUGINS / "rw_numpy.py"), "draws": 200}},
            dims=[2],
        )
    )
    settings = ebconfig.run_settings(full, "rw_numpy", "gaussian_iid", 2, 0)
    record, draws, _ = pipeline.sample(settings, 1, str(tmp_path / "x.log"))
    assert record["status"] == "ok" and record["dim"] == 2
    assert record["stat_status"] == "mine" and record["stat_dim"] == -1
    assert record["option_draws"] == 200 and "draws" not in record
    with pytest.raises(ValueError, match="not an identifier"):
        pipeline.namespaced("stat", {"two words": 1})


# -- the one-file promise, end to end ----------------------------------------------------


@pytest.mark.workflow
def test_throwaway_modules_and_the_example_run_end_to_end(tmp_path):
    """A sampler and a target that exist only in a temporary folder, and the worked example
    of the README's "Benchmark your own model", run by a tiny study; the repo is untouched."""
    before = _repo_status()
    mine = tmp_path / "plugins"
    mine.mkdir()
    for name in ("rw_numpy.py", "scaled_gaussian.py"):
        (mine / name).write_text((PLUGINS / name).read_text())
    # The worked example as shipped, but its reference by NUTS on the model alone: its
    # default nested route (minutes of nautilus) is tested in tests/test_reference_routes.py,
    # and the suite's time is CI's.
    example = mine / EXAMPLE.name
    example.write_text(EXAMPLE.read_text() + "\nREFERENCE_NESTED = None\n")
    config = {
        "study": "byo",
        "study_seed": 5,
        "replicates": [0, 1],
        "dims": [3],
        "runs_per_job": 2,
        "targets": {
            "scaled_gaussian": {"file": "plugins/scaled_gaussian.py", "scale": 2.0},
            "linear_regression_outliers": {"file": str(example), "dims": [4]},
        },
        "samplers": {
            "rw_numpy": {"file": "plugins/rw_numpy.py", "tune": 500, "draws": 1500},
            "emcee": {"burn": 200, "steps": 600},
        },
    }
    (tmp_path / "byo.yaml").write_text(yaml.safe_dump(config))
    snakemake("--cores", "2", "--configfile", "byo.yaml", cwd=tmp_path)

    results = tmp_path / "results" / "byo"
    runs = pd.read_parquet(results / "tables" / "runs.parquet")
    expected = ebconfig.runs(ebconfig.validate(config_in(tmp_path, config)))
    assert len(runs) == len(expected) and (runs["status"] == "ok").all()
    assert set(runs["sampler"]) == {"rw_numpy", "emcee"}
    assert set(runs["target"]) == {"scaled_gaussian", "linear_regression_outliers"}
    # The file target's own truth() (user-supplied), and the example's reference moments
    # (the gated rule: NUTS on the model, the nested route turned off in the file's copy).
    by_target = runs.groupby("target")["truth_source"].unique()
    assert list(by_target["scaled_gaussian"]) == ["user"]
    assert list(by_target["linear_regression_outliers"]) == ["reference"]
    ran = runs[runs["target"] == "linear_regression_outliers"]
    assert (ran["truth_route"] == "nuts_on_model").all()
    record = json.loads((results / "runs/scaled_gaussian/d3/emcee/r0.json").read_text())
    assert record["truth_var"] == [4.0, 4.0, 4.0]
    # The throw-away sampler's own stats are namespaced; core fields are intact.
    rw = runs[runs["sampler"] == "rw_numpy"]
    assert (rw["stat_status"] == "mine").all() and (rw["stat_dim"] == -1).all()
    assert set(rw["dim"]) == {3, 4}
    for figure in ("cost_vs_dim.png", "ess_calibration.png", "speedup.png"):
        assert (results / "figures" / figure).stat().st_size > 0
    assert "rw_numpy" in (results / "summary.md").read_text()
    after = _repo_status()
    assert after == before


def _repo_status() -> str:
    return subprocess.run(
        ["git", "status", "--porcelain", "--untracked-files=all"],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
    ).stdout


def config_in(folder, config):
    """The config with its relative file paths made absolute (validated outside ``folder``)."""
    out = yaml.safe_load(yaml.safe_dump(config))
    for section in ("targets", "samplers"):
        for entry in out[section].values():
            if entry.get("file") and not entry["file"].startswith("/"):
                entry["file"] = str(folder / entry["file"])
    return out
