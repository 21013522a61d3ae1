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
    "duplicate seeds": (
        variant(_set(seeds=[1, 1])),
        "config: seeds: [1, 1] has non-unique elements",
    ),
    "negative seed": (
        variant(_set(seeds=[-1])),
        "config: seeds[0]: -1 is less than the minimum of 0",
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
        "config: samplers.emcee.nwalkers: 10 walkers is fewer than 2 x dim = 16 needed at dim 8",
    ),
    "zero draws": (
        variant(_sampler("pymc_nuts", draws=0)),
        "config: samplers.pymc_nuts.draws: 0 must be an integer >= 1",
    ),
    "zero chains": (
        variant(_sampler("pymc_nuts", chains=0)),
        "config: samplers.pymc_nuts.chains: 0 must be an integer >= 1",
    ),
    "fractional steps": (
        variant(_sampler("emcee", steps=1.5)),
        "config: samplers.emcee.steps: 1.5 must be an integer >= 1",
    ),
    "negative burn": (
        variant(_sampler("emcee", burn=-5)),
        "config: samplers.emcee.burn: -5 must not be negative",
    ),
    "option not a number": (
        variant(_sampler("emcee", steps="many")),
        "config: samplers.emcee.steps: 'many' is not a number",
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
    "target ESS without budget": (
        variant(_set(target_ess={"ess": 400})),
        "config: 'budget_seconds' is a required property (in target_ess)",
    ),
    "target ESS unknown key": (
        variant(_set(target_ess={"ess": 400, "budget_seconds": 60, "max_grow": 4})),
        "config: unknown key 'target_ess.max_grow' (did you mean 'max_growth'?)",
    ),
    "run budget below target budget": (
        variant(_set(target_ess={"ess": 400, "budget_seconds": 600}, run_budget_seconds=60)),
        "config: run_budget_seconds: 60 is less than target_ess.budget_seconds = 600",
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
    "YAML syntax error": (
        "study: x\nseeds: [0, 1\ndims: [2]\n",
        "Config file is not valid JSON or YAML",
    ),
}


def _dry_run(case, tmp_path):
    text, _ = CASES[case]
    folder = tmp_path / case.replace(" ", "_")
    folder.mkdir()
    (folder / "bad.yaml").write_text(text)
    return snakemake("-n", "--configfile", "bad.yaml", cwd=folder, check=False, timeout=300)


def test_at_least_twenty_cases():
    assert len(CASES) >= 20


@pytest.fixture(scope="module")
def dry_runs(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("bad")
    with ThreadPoolExecutor(2) as pool:
        return dict(zip(CASES, pool.map(lambda c: _dry_run(c, tmp), CASES), strict=True))


@pytest.mark.parametrize("case", list(CASES))
def test_bad_config_message(case, dry_runs):
    proc = dry_runs[case]
    expected = CASES[case][1]
    output = proc.stdout + proc.stderr
    assert proc.returncode != 0
    assert expected in output, output[-2000:]
    assert "Traceback" not in output
    # Every problem line names its key; no job was planned.
    assert "Job stats" not in proc.stdout
