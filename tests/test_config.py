import copy
from pathlib import Path

import pytest
import yaml

from essbench import config as ebconfig

REPO = Path(__file__).resolve().parents[1]
SHIPPED = sorted((REPO / "config").rglob("*.yaml"))


def load(name):
    return yaml.safe_load((REPO / "config" / name).read_text())


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: str(p.relative_to(REPO)))
def test_shipped_configs_are_valid(path):
    full = ebconfig.validate(yaml.safe_load(path.read_text()))
    assert ebconfig.runs(full)


def test_defaults_are_filled():
    cfg = load("config.yaml")
    del cfg["backend"], cfg["keep_draws"]
    full = ebconfig.validate(cfg)
    assert full["backend"] == "numba" and full["keep_draws"] is False


def test_runs_expand_the_grid():
    full = ebconfig.validate(load("config.yaml"))
    runs = ebconfig.runs(full)
    dims = sum(len(ebconfig.target_dims(full, t)) for t in full["targets"])
    n = dims * len(full["samplers"]) * len(full["replicates"])
    assert len(runs) == n == len({r.key for r in runs})
    assert {r.dim for r in runs if r.target == "gaussian_illcond"} == {16}


def test_seed_config_is_the_seed_protocol():
    full = ebconfig.validate(load("tutorial.yaml"))
    assert full["dims"] == [50] and list(full["targets"]) == ["gaussian_iid"]
    nuts = ebconfig.sampler_options(full, "pymc_nuts")
    assert (nuts["tune"], nuts["draws"], nuts["chains"]) == (1000, 1000, 2)
    em = ebconfig.sampler_options(full, "emcee")
    assert (em["nwalkers"], em["burn"], em["steps"]) == (124, 1000, 5000)
    assert full["published"]["ms_per_ess"] == {"pymc_nuts": 0.60, "emcee": 50.72}


def test_settings_hash_changes_with_settings():
    full = ebconfig.validate(load("config.yaml"))
    a = ebconfig.run_settings(full, "emcee", "gaussian_iid", 8, 0)
    b = ebconfig.run_settings(full, "emcee", "gaussian_iid", 8, 1)
    assert ebconfig.settings_hash(a) != ebconfig.settings_hash(b)
    assert ebconfig.settings_hash(a) == ebconfig.settings_hash(copy.deepcopy(a))


def mutate(fn):
    cfg = load("config.yaml")
    fn(cfg)
    return cfg


BAD = {
    "unknown top-level key": (
        lambda c: c.update(dimz=[2]),
        "unknown key 'dimz' (did you mean 'dims'?)",
    ),
    "unknown sampler": (
        lambda c: c["samplers"].update(pymc_nut={}),
        "samplers.pymc_nut: unknown sampler (did you mean 'pymc_nuts'?)",
    ),
    "unknown target": (
        lambda c: c["targets"].update(gausian_iid={}),
        "targets.gausian_iid: unknown target (did you mean 'gaussian_iid'?)",
    ),
    "unknown sampler option": (
        lambda c: c["samplers"]["emcee"].update(stepz=10),
        "samplers.emcee.stepz: unknown option (did you mean 'steps'?)",
    ),
    "negative dimension": (
        lambda c: c.update(dims=[2, -1]),
        "dims[1]: -1 is less than the minimum of 1",
    ),
    "empty dims": (lambda c: c.update(dims=[]), "dims: [] should be non-empty"),
    "duplicate replicates": (
        lambda c: c.update(replicates=[0, 0]),
        "replicates: [0, 0] has non-unique elements",
    ),
    "dims not a list": (lambda c: c.update(dims="8"), "dims: '8' is not of type 'array'"),
    "missing samplers": (lambda c: c.pop("samplers"), "'samplers' is a required property"),
    "too few walkers": (
        lambda c: c["samplers"]["emcee"].update(nwalkers=10),
        "samplers.emcee.nwalkers: 10 walkers is fewer than 2 x dim = 32 needed at dim 16",
    ),
    "zero draws": (
        lambda c: c["samplers"]["pymc_nuts"].update(draws=0),
        "samplers.pymc_nuts.draws: 0 is out of range: must be an integer ≥ 1",
    ),
    "negative burn": (
        lambda c: c["samplers"]["emcee"].update(burn=-5),
        "samplers.emcee.burn: -5 is out of range: must be an integer ≥ 0",
    ),
    "option not a number": (
        lambda c: c["samplers"]["emcee"].update(steps="many"),
        "samplers.emcee.steps: 'many' is not an integer",
    ),
    "unknown backend": (lambda c: c.update(backend="jaxx"), "backend: 'jaxx' is not one of"),
}


@pytest.mark.parametrize("case", list(BAD), ids=list(BAD))
def test_bad_config_gets_its_message(case):
    fn, expected = BAD[case]
    with pytest.raises(ebconfig.ConfigError) as info:
        ebconfig.validate(mutate(fn))
    assert expected in str(info.value), str(info.value)
    assert all(line.startswith("config: ") for line in str(info.value).splitlines())


def test_gradient_sampler_on_a_target_without_gradients_is_one_clear_line(monkeypatch):
    from essbench import registry

    monkeypatch.setattr(registry.target("banana"), "GRADIENT", False)
    cfg = load("config.yaml")
    cfg["targets"] = {"banana": {}}
    cfg["samplers"] = {"pymc_nuts": {}, "emcee": {}}
    with pytest.raises(ebconfig.ConfigError) as err:
        ebconfig.validate(cfg)
    assert err.value.problems == [
        "config: samplers.pymc_nuts: needs gradients but target banana has none; remove one of them"
    ]


def test_ess_goal_defaults_are_filled():
    cfg = load("config.yaml")
    cfg["ess_goal"] = {"ess": 400, "budget_seconds": 60}
    full = ebconfig.validate(cfg)
    assert full["ess_goal"] == {
        "ess": 400,
        "budget_seconds": 60,
        "max_growth": 16,
        "reliable": True,
    }
    settings = ebconfig.run_settings(full, "emcee", "gaussian_iid", 2, 0)
    assert settings["ess_goal"]["ess"] == 400


def test_paper_config_is_the_whole_field_in_ess_goal_mode():
    from essbench import registry

    full = ebconfig.validate(load("paper.yaml"))
    assert full["dims"] == [2**k for k in range(1, 9)] and len(full["replicates"]) == 5
    assert full["ess_goal"]["ess"] == 400 and full["ess_goal"]["budget_seconds"] > 0
    assert set(full["samplers"]) == {
        n for n, m in registry.samplers().items() if not getattr(m, "TEST_ONLY", False)
    }
    # posteriordb's ports are a study of their own (config/posteriordb.yaml).
    ports = {n for n, m in registry.targets().items() if hasattr(m.module, "POSTERIOR")}
    assert ports and set(full["targets"]) == set(registry.targets()) - ports
    runs = ebconfig.runs(full)
    cells = sum(
        len(ebconfig.target_dims(full, t))
        for t in full["targets"]
        for s in full["samplers"]
        if ebconfig.runs_on(full, s, t)
    )
    assert len(runs) == cells * len(full["replicates"])
    # The oracle skips the targets without exact draws, Stan those without a Stan program;
    # every other pair runs.
    skipped = {(s, t) for s in full["samplers"] for t in full["targets"]}
    skipped -= {(r.sampler, r.target) for r in runs}
    assert skipped == {
        ("exact", "eight_schools"),
        ("exact", "radial_velocity"),
        ("exact", "transit"),
        ("stan_nuts", "transit"),
    }
