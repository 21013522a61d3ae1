"""Stan's log density and gradient at the test points, computed once with the real toolchain.

Every target that declares ``STAN_PROGRAM`` is checked against its Stan program (PyMC's log
density minus Stan's a constant, gradients equal): tests/test_stan_nuts.py at points spread
like each target's starting points, tests/test_posteriordb.py also at each posteriordb
port's reference draws. Compiling a Stan program takes ~30-50 s, and httpstan names a
compiled program by a hash that includes the Python executable's path, so a fresh
virtualenv compiles every program again. The Stan side of those checks is therefore
computed here, once, and stored in ``tests/data/stan_log_density.json``; the tests compute
the PyMC side live and compare. Each case records the hashes of the Stan program and of its
data: a test fails, asking to regenerate, when either has changed. The programs the suite
compiles anyway (gaussian_iid, eight_schools_noncentered) are recomputed live and compared
with the stored values.

Regenerate everything, or one target's cases (each program compiles once)::

    PYTHONPATH=src .venv/bin/python tests/stan_fixtures.py [--only NAME ...]

The points are seeded: regenerating gives the same points.
"""

import argparse
import json
import sys
from functools import cache
from pathlib import Path

import numpy as np

from essbench import posteriordb, registry
from essbench import stan as es
from essbench.problem import build_problem
from essbench.targets import _posteriordb

FIXTURE = Path(__file__).resolve().parent / "data" / "stan_log_density.json"
COMMAND = "PYTHONPATH=src .venv/bin/python tests/stan_fixtures.py"

# posteriordb ports: reference draws spread over the chains, then some of them moved.
REFERENCE_POINTS = 5
PERTURBED_POINTS = 2
# Every target: points spread like its starting points, and wider ones.
START_POINTS = 3
WIDE_POINTS = 2


def stan_targets() -> list[str]:
    return sorted(
        name
        for name, plugin in registry.targets().items()
        if getattr(plugin.module, "STAN_PROGRAM", None) is not None
    )


def is_port(name: str) -> bool:
    return hasattr(registry.target(name).module, "POSTERIOR")


def dims(name: str) -> list[int]:
    """A port at its one dimension; a synthetic target at its fixed dimension, else at its
    smallest one and at 4 (banana at d = 2 has no ``rest`` in PyMC, an empty vector in
    Stan: both are checked)."""
    plugin = registry.target(name)
    if is_port(name):
        return [plugin.MIN_DIM]
    if plugin.MAX_DIM is not None:
        return [plugin.MAX_DIM]
    low = plugin.MIN_DIM or 1
    return sorted({low, max(low, 4)})


STARTS, REFERENCE = "starts", "reference draws"


def cases() -> list[tuple[str, int, str]]:
    """Every (target, dim, points) whose Stan values the fixture must hold: each target at
    points spread like its starting points (tests/test_stan_nuts.py), and each posteriordb
    port also at points from its reference draws (tests/test_posteriordb.py)."""
    return [
        (name, dim, points)
        for name in stan_targets()
        for dim in dims(name)
        for points in ((STARTS, REFERENCE) if is_port(name) else (STARTS,))
    ]


def reference_points(problem) -> np.ndarray:
    """Reference draws spread over the chains, then two of them moved ~2 posterior sd in
    every coordinate (away from the bulk, where a wrong term would show). A posterior
    without vendored draws uses its target's initial points and unit steps instead."""
    module = problem.module
    rng = np.random.default_rng(0)
    if posteriordb.has_reference_draws(module.POSTERIOR):
        x = _posteriordb.value_space_reference(module.POSTERIOR, problem.target, problem.dim)
        flat = x.reshape(-1, x.shape[-1])
        chosen = flat[rng.choice(len(flat), REFERENCE_POINTS, replace=False)]
        scale = flat.std(axis=0)
    else:
        chosen = problem.initial_points(REFERENCE_POINTS, np.random.RandomState(0))
        scale = np.ones(chosen.shape[1])
    moved = chosen[:PERTURBED_POINTS] + 2.0 * scale * rng.standard_normal(
        (PERTURBED_POINTS, chosen.shape[1])
    )
    return np.vstack([chosen, moved])


def start_points(problem) -> np.ndarray:
    """Points spread like the target's starting points, then wider ones (x 1.5)."""
    rng = np.random.RandomState(7)
    return np.vstack(
        [problem.initial_points(START_POINTS, rng), problem.initial_points(WIDE_POINTS, rng) * 1.5]
    )


def points(problem, kind: str) -> np.ndarray:
    """The value-space points of one case (seeded: the same points every time)."""
    return {STARTS: start_points, REFERENCE: reference_points}[kind](problem)


@cache
def problem_of(name: str, dim: int):
    return build_problem(name, dim)


# Data hashed to this many significant digits: targets build their data with LAPACK
# (gaussian_illcond's rotation is a QR, its Stan data a Cholesky factor), whose last bits
# differ between CPUs, so an exact hash called the fixture stale on another machine.
DATA_DIGITS = 10


def _rounded(value):
    if isinstance(value, float):
        return float(f"{value:.{DATA_DIGITS}g}")
    if isinstance(value, list):
        return [_rounded(v) for v in value]
    if isinstance(value, dict):
        return {k: _rounded(v) for k, v in value.items()}
    return value


def hashes(problem) -> dict:
    """The sha256 of the target's Stan program and of its JSON-serialised data (floats to
    ``DATA_DIGITS`` significant digits)."""
    program, data = es.target_program(problem.module, problem.dim, problem.options)
    return {
        "program_sha256": es.program_sha256(program),
        "data_sha256": es.data_sha256(_rounded(es.plain(data))),
    }


def build(name: str, dim: int):
    """The target's Stan model at ``dim`` (compiled, or loaded from httpstan's cache)."""
    problem = problem_of(name, dim)
    return es.build(*es.target_program(problem.module, dim, problem.options))


def stan_case(name: str, dim: int, kind: str, model=None) -> dict:
    """Stan's values at one case's points, with the real toolchain (``model``: the built
    model, else it is built here)."""
    problem = problem_of(name, dim)
    model = model if model is not None else build(name, dim)
    thetas = points(problem, kind)
    result = es.compare_log_density(problem, model, thetas)
    perm = result["perm"]
    return {
        "target": name,
        "dim": dim,
        "points_from": kind,
        "options": problem.options,
        **hashes(problem),
        "versions": es.versions(),
        "param_names": list(model.param_names),
        "dims": [list(d) for d in model.dims],
        "points": thetas.tolist(),
        "perm": None if perm is None else perm.tolist(),
        "stan": result["stan"].tolist(),
        "stan_nojac": result["stan_nojac"].tolist(),
        # In essbench's order when ``perm`` is set, else in Stan's unconstrained order.
        "stan_grad": result["stan_grad"].tolist(),
    }


def key(case: dict) -> tuple[str, int, str]:
    return case["target"], case["dim"], case.get("points_from")


@cache
def load() -> tuple[dict, ...]:
    """The fixture's cases (none when it does not exist yet)."""
    if not FIXTURE.exists():
        return ()
    return tuple(json.loads(FIXTURE.read_text())["cases"])


def write(all_cases: list[dict]) -> None:
    """One case a line, in the order of :func:`cases`, so that a regenerated case is one diff
    line."""
    order = {k: i for i, k in enumerate(cases())}
    ordered = sorted(all_cases, key=lambda c: order[key(c)])
    lines = ",\n".join("  " + json.dumps(c) for c in ordered)
    FIXTURE.parent.mkdir(parents=True, exist_ok=True)
    FIXTURE.write_text(f'{{"generator": "tests/stan_fixtures.py", "cases": [\n{lines}\n]}}\n')


def stored(name: str, dim: int, kind: str) -> dict:
    """The fixture's case (``kind``: its points), checked against the target as it is now:
    an AssertionError saying how to regenerate it when it is missing or stale."""
    found = [c for c in load() if key(c) == (name, dim, kind)]
    regenerate = f"regenerate it: {COMMAND} --only {name}"
    assert found, f"{FIXTURE.name} has no case {name} at dim {dim} ({kind}); {regenerate}"
    case = found[0]
    problem = problem_of(name, dim)
    for field, value in hashes(problem).items():
        assert case[field] == value, (
            f"{FIXTURE.name}: {name} at dim {dim}: its STAN_PROGRAM or stan_data changed since"
            f" the fixture was made ({field}); {regenerate}"
        )
    assert case["options"] == problem.options, f"{name}: options changed; {regenerate}"
    return case


def assert_same_stan_values(live: dict, case: dict, rtol: float = 1e-10) -> None:
    """Stan's values ``live``, recomputed now, are the stored ``case``'s (same points, same
    program and data, same parameters and permutation; values to ``rtol``)."""
    for field in ("target", "dim", "points_from", "options", "program_sha256", "data_sha256"):
        assert live[field] == case[field], field
    for field in ("versions", "param_names", "dims", "perm"):
        assert live[field] == case[field], field
    np.testing.assert_array_equal(live["points"], case["points"])
    for field in ("stan", "stan_nojac", "stan_grad"):
        want = np.asarray(case[field])
        np.testing.assert_allclose(
            live[field], want, rtol=rtol, atol=rtol * np.abs(want).max(), err_msg=field
        )


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--only", action="append", metavar="NAME", help="regenerate this target's cases only"
    )
    args = parser.parse_args(argv)
    wanted = cases()
    names = {name for name, _, _ in wanted}
    unknown = set(args.only or ()) - names
    if unknown:
        parser.error(
            f"no target with a STAN_PROGRAM named {sorted(unknown)}; one of {sorted(names)}"
        )
    targets = [n for n in stan_targets() if not args.only or n in args.only]
    # Cases of removed targets (or dimensions) are dropped; the others are replaced target
    # by target, and the file is written after each: a later failure keeps the work done.
    by_key = {key(c): c for c in load() if key(c) in wanted}
    for name in targets:
        for dim in dims(name):
            print(f"{name} at dim {dim} ...", flush=True)
            model = build(name, dim)
            for k in wanted:
                if k[:2] == (name, dim):
                    by_key[k] = stan_case(name, dim, k[2], model)
            write(list(by_key.values()))
    write(list(by_key.values()))
    print(f"wrote {FIXTURE} ({FIXTURE.stat().st_size} bytes, {len(by_key)} cases)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
