"""Malformed configs are caught by `snakemake -n` before any job runs, one clear line each."""

from concurrent.futures import ThreadPoolExecutor

import pytest
import yaml
from conftest import REPO, snakemake

BASE = yaml.safe_load((REPO / "config" / "config.yaml").read_text())


def variant(change):
    cfg = yaml.safe_load(yaml.safe_dump(BASE))
    change(cfg)
    return yaml.safe_dump(cfg)


def _set(**kw):
    return lambda c: c.update(kw)


def _model_file(name):
    """The base config plus a target ``mine`` from the user's file models/<name>."""
    return variant(lambda c: c["targets"].update(mine={"file": f"models/{name}"}))


def _sampler(name, **kw):
    return lambda c: c["samplers"].setdefault(name, {}).update(kw)


CASES = {
    "unknown key": (variant(_set(dimz=[2])), "config: unknown key 'dimz' (did you mean 'dims'?)"),
    "unknown sampler": (
        variant(lambda c: c["samplers"].update(pymc_nut={})),
        "config: samplers.pymc_nut: unknown sampler (did you mean 'pymc_nuts'?); known samplers:",
    ),
    "unknown target": (
        variant(lambda c: c["targets"].update(gausian_iid={})),
        "config: targets.gausian_iid: unknown target (did you mean 'gaussian_iid'?)",
    ),
    "unknown sampler option": (
        variant(_sampler("emcee", stepz=10)),
        "config: samplers.emcee.stepz: unknown option (did you mean 'steps'?); options of emcee:",
    ),
    "negative dim": (
        variant(_set(dims=[2, -1])),
        "config: dims[1]: -1 is less than the minimum of 1",
    ),
    "zero dim": (variant(_set(dims=[0])), "config: dims[0]: 0 is less than the minimum of 1"),
    "empty dims": (variant(_set(dims=[])), "config: dims: [] should be non-empty"),
    "duplicate dims": (variant(_set(dims=[8, 8])), "config: dims: [8, 8] has non-unique elements"),
    "dims not a list": (variant(_set(dims=8)), "config: dims: 8 is not of type 'array'"),
    "duplicate replicates": (
        variant(_set(replicates=[1, 1])),
        "config: replicates: [1, 1] has non-unique elements",
    ),
    "negative replicate": (
        variant(_set(replicates=[-1])),
        "config: replicates[0]: -1 is less than the minimum of 0",
    ),
    "missing samplers": (
        variant(lambda c: c.pop("samplers")),
        "config: 'samplers' is a required property",
    ),
    "missing study": (variant(lambda c: c.pop("study")), "config: 'study' is a required property"),
    "bad study name": (variant(_set(study="my study")), "config: study: 'my study' does not match"),
    "no samplers": (variant(_set(samplers={})), "config: samplers: {} should be non-empty"),
    "targets as list": (
        variant(_set(targets=["gaussian_iid"])),
        "config: targets: ['gaussian_iid'] is not of type 'object'",
    ),
    "too few walkers": (
        variant(_sampler("emcee", nwalkers=10)),
        "config: samplers.emcee.nwalkers: 10 walkers is fewer than 2 x dim = 32 needed at dim 16",
    ),
    "zero draws": (
        variant(_sampler("pymc_nuts", draws=0)),
        "config: samplers.pymc_nuts.draws: 0 is out of range: must be an integer ≥ 1",
    ),
    "zero chains": (
        variant(_sampler("pymc_nuts", chains=0)),
        "config: samplers.pymc_nuts.chains: 0 is out of range: must be an integer ≥ 1",
    ),
    "fractional steps": (
        variant(_sampler("emcee", steps=1.5)),
        "config: samplers.emcee.steps: 1.5 is not an integer: must be an integer ≥ 1",
    ),
    "negative burn": (
        variant(_sampler("emcee", burn=-5)),
        "config: samplers.emcee.burn: -5 is out of range: must be an integer ≥ 0",
    ),
    "option not a number": (
        variant(_sampler("emcee", steps="many")),
        "config: samplers.emcee.steps: 'many' is not an integer",
    ),
    "bad choice": (
        variant(_sampler("fault_injection", mode="explode")),
        "config: samplers.fault_injection.mode: 'explode' is not one of ok, raise, nan, sleep",
    ),
    "unknown backend": (variant(_set(backend="jaxx")), "config: backend: 'jaxx' is not one of"),
    "negative budget": (
        variant(_set(run_budget_seconds=-5)),
        "config: run_budget_seconds: -5 is less than or equal to the minimum of 0",
    ),
    "keep_draws not boolean": (
        variant(_set(keep_draws="yes please")),
        "config: keep_draws: 'yes please' is not of type 'boolean'",
    ),
    "keep_draws=true on snakemake's command line": (
        variant(_set(keep_draws="true")),
        "config: keep_draws: 'true' is not of type 'boolean' (on the command line write"
        " --config keep_draws=True, a Python boolean)",
    ),
    "exclusive_sampling neither boolean nor auto": (
        variant(_set(exclusive_sampling="sometimes")),
        "config: exclusive_sampling: 'sometimes' is not allowed;"
        " write true or false, or 'auto' or 'strict'",
    ),
    "target ESS without budget": (
        variant(_set(ess_goal={"ess": 400})),
        "config: 'budget_seconds' is a required property (in ess_goal)",
    ),
    "target ESS unknown key": (
        variant(_set(ess_goal={"ess": 400, "budget_seconds": 60, "max_grow": 4})),
        "config: unknown key 'ess_goal.max_grow' (did you mean 'max_growth'?)",
    ),
    "run budget below target budget": (
        variant(_set(ess_goal={"ess": 400, "budget_seconds": 600}, run_budget_seconds=60)),
        "config: run_budget_seconds: 60 is less than ess_goal.budget_seconds = 600",
    ),
    "published dim not run": (
        variant(
            _set(
                published={
                    "source": "x",
                    "target": "gaussian_iid",
                    "dim": 50,
                    "ms_per_ess": {"pymc_nuts": 0.6},
                }
            )
        ),
        "config: published.dim: 50 is not in dims",
    ),
    "probability out of range": (
        variant(_sampler("pymc_nuts", target_accept=1.2)),
        "config: samplers.pymc_nuts.target_accept: 1.2 is out of range: must be a number in (0, 1)",
    ),
    "target option not a number": (
        variant(lambda c: c["targets"].update(banana={"b": "twisty"})),
        "config: targets.banana.b: 'twisty' is not a number: must be a number ≥ 0",
    ),
    "condition number below 1": (
        variant(lambda c: c["targets"].update(gaussian_illcond={"condition": 0.5})),
        "config: targets.gaussian_illcond.condition: 0.5 is out of range: must be a number ≥ 1",
    ),
    "old key seeds": (
        variant(lambda c: c.update(seeds=c.pop("replicates"))),
        "config: seeds: renamed to 'replicates' (same meaning); rename the key in your config",
    ),
    "user model file missing": (
        _model_file("nowhere.py"),
        "config: targets.mine: models/nowhere.py: no such file",
    ),
    "user model without build_model": (
        _model_file("empty.py"),
        "config: targets.mine: models/empty.py: defines no build_model",
    ),
    "user model that raises": (
        _model_file("raises.py"),
        "config: targets.mine: models/raises.py: build_model(dim=16) raised ValueError: no data",
    ),
    "user model import error": (
        _model_file("imports.py"),
        "config: targets.mine: models/imports.py: importing it raised ModuleNotFoundError",
    ),
    "backend without the target's ops": (
        variant(lambda c: c.update(backend="c", targets={"transit": {"dims": [8]}})),
        "config: backend: c cannot compile the ops of target transit (they compile with numba,"
        " jax only); set backend: numba, or remove the target",
    ),
    "sampler backend without the target's ops": (
        variant(
            lambda c: (
                c["targets"].update(mine={"file": "models/numba_only.py"}),
                c["samplers"].update(numpyro_nuts={}),
            )
        ),
        "config: samplers.numpyro_nuts: cannot run on target mine (it compiles with PyTensor's"
        " jax backend; the target's ops compile with numba only); remove one of them",
    ),
    "user model with a discrete variable": (
        variant(
            lambda c: (
                c.pop("dims"),
                c.update(targets={"mine": {"file": "models/change_point.py"}}),
            )
        ),
        "config: targets.mine: models/change_point.py: free variable 'switchpoint' is"
        " discrete; emcee, nutpie, pymc_nuts cannot run it (continuous parameters only) and no"
        " essbench sampler can:",
    ),
    "stated dims disagree with a fixed-size model": (
        _model_file("four.py"),
        "config: dims: 16 is not the size of target mine (models/four.py: its model has 4 free"
        " parameters); a dimension counts free parameters: state 4, or none at all",
    ),
    "own dims disagree with a model that ignores its dim": (
        variant(lambda c: c["targets"].update(mine={"file": "models/ignores_dim.py", "dims": [3]})),
        "config: targets.mine.dims: 3 is not the size of target mine (models/ignores_dim.py:"
        " its model has 4 free parameters)",
    ),
    "MIN_DIM = MAX_DIM disagree with the model": (
        variant(lambda c: (c.pop("dims"), c["targets"].update(mine={"file": "models/wrong.py"}))),
        "config: targets.mine: models/wrong.py: MIN_DIM = MAX_DIM = 3 is not the size of target"
        " mine",
    ),
    "no dims for a target that scales": (
        variant(lambda c: c.pop("dims")),
        "config: targets.gaussian_iid: no dims (the target scales with its dimension)",
    ),
    "no dims for a user model that needs one": (
        variant(lambda c: (c.pop("dims"), c["targets"].update(mine={"file": "models/scales.py"}))),
        "config: targets.mine: models/scales.py: no dims: its build_model takes a dimension"
        " ('dim')",
    ),
    "YAML syntax error": (
        "study: x\nreplicates: [0, 1\ndims: [2]\n",
        "Config file is not valid JSON or YAML",
    ),
}


# A user's broken model files, for the cases above that name them.
MODEL_FILES = {
    "empty.py": "DESCRIPTION = 'a model file without its model'\n",
    "raises.py": "def build_model(dim):\n    raise ValueError('no data')\n",
    "imports.py": "import no_such_package_here\n",
    "numba_only.py": (
        "BACKENDS = ('numba',)\n"
        "def build_model(dim):\n"
        "    import pymc as pm\n"
        "    with pm.Model() as model:\n"
        "        pm.Normal('x', 0.0, 1.0, shape=dim)\n"
        "    return model\n"
    ),
    # A change-point model (PyMC's coal-mining disasters): the year is a discrete variable.
    "change_point.py": (
        "import numpy as np\n"
        "def build_model():\n"
        "    import pymc as pm\n"
        "    counts = np.r_[np.full(20, 3), np.full(20, 1)]\n"
        "    with pm.Model() as model:\n"
        "        switchpoint = pm.DiscreteUniform('switchpoint', lower=0, upper=39)\n"
        "        early = pm.Exponential('early_rate', 1.0)\n"
        "        late = pm.Exponential('late_rate', 1.0)\n"
        "        rate = pm.math.switch(switchpoint >= np.arange(40), early, late)\n"
        "        pm.Poisson('disasters', rate, observed=counts)\n"
        "    return model\n"
    ),
    "four.py": (
        "def build_model():\n"
        "    import pymc as pm\n"
        "    with pm.Model() as model:\n"
        "        pm.Normal('a', 0.0, 1.0, shape=3)\n"
        "        pm.HalfNormal('s', 1.0)\n"
        "    return model\n"
    ),
    "ignores_dim.py": (
        "def build_model(dim):\n"
        "    import pymc as pm\n"
        "    with pm.Model() as model:\n"
        "        pm.Normal('a', 0.0, 1.0, shape=4)\n"
        "    return model\n"
    ),
    "wrong.py": (
        "MIN_DIM = MAX_DIM = 3\n"
        "def build_model(dim=3):\n"
        "    import pymc as pm\n"
        "    with pm.Model() as model:\n"
        "        pm.Normal('a', 0.0, 1.0, shape=4)\n"
        "    return model\n"
    ),
    "scales.py": (
        "def build_model(dim):\n"
        "    import pymc as pm\n"
        "    with pm.Model() as model:\n"
        "        pm.Normal('a', 0.0, 1.0, shape=dim)\n"
        "    return model\n"
    ),
}


def _folder(case, tmp_path):
    folder = tmp_path / case.replace(" ", "_")
    folder.mkdir()
    (folder / "bad.yaml").write_text(CASES[case][0])
    (folder / "models").mkdir()
    for name, source in MODEL_FILES.items():
        (folder / "models" / name).write_text(source)
    return folder


def _dry_run(case, tmp_path):
    folder = _folder(case, tmp_path)
    return snakemake("-n", "--configfile", "bad.yaml", cwd=folder, check=False, timeout=300)


# Through `snakemake -n` (the Snakefile's own check, its exit and its output): one case of
# each kind. Every case is also checked below through essbench.config.validate, the function
# the Snakefile calls, in this process (a dry run costs ~10 s of Snakemake start-up).
DRY_RUN_CASES = (
    "unknown key",
    "too few walkers",
    "bad choice",
    "target ESS unknown key",
    "old key seeds",
    "user model that raises",
    "user model with a discrete variable",
    "stated dims disagree with a fixed-size model",
    "target option not a number",
    "backend without the target's ops",
    "YAML syntax error",
)


def test_at_least_twenty_cases():
    assert len(CASES) >= 20
    assert set(DRY_RUN_CASES) <= set(CASES)


@pytest.fixture(scope="module")
def dry_runs(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("bad")
    with ThreadPoolExecutor(2) as pool:
        runs = pool.map(lambda c: _dry_run(c, tmp), DRY_RUN_CASES)
        return dict(zip(DRY_RUN_CASES, runs, strict=True))


@pytest.mark.parametrize("case", DRY_RUN_CASES)
def test_bad_config_message(case, dry_runs):
    proc = dry_runs[case]
    expected = CASES[case][1]
    output = proc.stdout + proc.stderr
    assert proc.returncode != 0
    assert expected in output, output[-2000:]
    assert "Traceback" not in output
    # Every problem line names its key; no job was planned.
    assert "Job stats" not in proc.stdout


@pytest.mark.parametrize("case", [c for c in CASES if c != "YAML syntax error"])
def test_bad_config_is_refused_by_validate(case, tmp_path, monkeypatch):
    from essbench import config as ebconfig

    monkeypatch.chdir(_folder(case, tmp_path))
    with pytest.raises(ebconfig.ConfigError) as info:
        ebconfig.validate(yaml.safe_load(CASES[case][0]))
    lines = str(info.value).splitlines()
    assert CASES[case][1] in lines or any(CASES[case][1] in line for line in lines), lines
    assert all(line.startswith("config: ") for line in lines)


def test_a_discrete_model_is_refused_in_one_line(tmp_path, monkeypatch):
    from essbench import config as ebconfig

    case = "user model with a discrete variable"
    monkeypatch.chdir(_folder(case, tmp_path))
    with pytest.raises(ebconfig.ConfigError) as info:
        ebconfig.validate(yaml.safe_load(CASES[case][0]))
    assert len(info.value.problems) == 1, info.value.problems
    assert info.value.problems[0].endswith(
        "marginalize it out of the model (e.g. pm.Mixture,"
        " or a logsumexp over its values in a pm.Potential)"
        " or remove the target"
    )


def test_a_model_of_fixed_size_needs_no_dims(tmp_path, monkeypatch):
    """essbench counts its free parameters: the runs are labelled with the count, and the
    worked example's config states no dims."""
    from essbench import config as ebconfig

    case = "stated dims disagree with a fixed-size model"
    monkeypatch.chdir(_folder(case, tmp_path))
    cfg = yaml.safe_load(CASES[case][0])
    del cfg["dims"]
    cfg["targets"] = {"mine": {"file": "models/four.py"}}
    full = ebconfig.validate(cfg)
    assert ebconfig.target_dims(full, "mine") == [4]
    assert {run.dim for run in ebconfig.runs(full)} == {4}
    cfg["dims"] = [4]  # a stated count that agrees is accepted
    assert ebconfig.target_dims(ebconfig.validate(cfg), "mine") == [4]
    example = yaml.safe_load((REPO / "examples" / "my_model.yaml").read_text())
    assert "dims" not in example
    full = ebconfig.validate(example)
    assert ebconfig.target_dims(full, "linear_regression_outliers") == [4]
