"""posteriordb's posteriors, vendored: data, Stan programs and reference draws.

The files under ``data/posteriordb/`` are copied unchanged from posteriordb (github
``stan-dev/posteriordb``, snapshot 28f8d3d, 2025-04-29, BSD-3-Clause: ``LICENCE.md`` beside
them; each model's and data set's info file carries its own ``licence`` field), in
posteriordb's own layout: ``posteriors/<name>.json``, ``models/stan/<model>.stan``,
``data/data/<data>.json.zip``, ``reference_posteriors/draws/draws/<name>.json.zip`` (10
chains x 1,000 draws, one dict per chain mapping ``"beta[1]"``-style names to draws, in the
constrained space, transformed parameters included). This loader reads them with the
standard library: no network and no dependence on the ``posteriordb`` PyPI package.
"""

import json
import re
import zipfile
from functools import cache
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2] / "data" / "posteriordb"
SNAPSHOT = "28f8d3d"
SOURCE = "github stan-dev/posteriordb"


def names() -> list[str]:
    """The vendored posteriors."""
    return sorted(p.stem for p in (ROOT / "posteriors").glob("*.json"))


@cache
def posterior(name: str) -> dict:
    """The posterior's info (``model_name``, ``data_name``, ``dimensions``, ``keywords``)."""
    path = ROOT / "posteriors" / f"{name}.json"
    if not path.exists():
        raise KeyError(f"posteriordb posterior {name!r} is not vendored; known: {names()}")
    return json.loads(path.read_text())


def _read_zip_json(path: Path):
    with zipfile.ZipFile(path) as archive:
        (member,) = archive.namelist()
        return json.loads(archive.read(member))


@cache
def _data(name: str) -> dict:
    return _read_zip_json(ROOT / "data" / "data" / f"{posterior(name)['data_name']}.json.zip")


def data(name: str) -> dict:
    """The posterior's data, as posteriordb gives it to Stan (a fresh copy)."""
    return json.loads(json.dumps(_data(name)))


def stan_code(name: str) -> str:
    """The posterior's Stan program."""
    return (ROOT / "models" / "stan" / f"{posterior(name)['model_name']}.stan").read_text()


def info(name: str, kind: str) -> dict:
    """A model's (``kind="models"``) or data set's (``kind="data"``) info file."""
    key = {"models": "model_name", "data": "data_name"}[kind]
    return json.loads((ROOT / kind / "info" / f"{posterior(name)[key]}.info.json").read_text())


def licence(name: str) -> str:
    """The licence the posterior's model and data info files declare."""
    found = {info(name, kind).get("licence") for kind in ("models", "data")} - {None}
    return ", ".join(sorted(found)) or "see LICENCE.md"


def summary_statistic(name: str, statistic: str) -> dict:
    """posteriordb's summary of a posterior without draws (``statistic``: ``"mean_value"``
    or ``"mean_squared_value"``): its flat ``names``, the values and their ``mcse_mean``."""
    root = ROOT / "reference_posteriors" / "summary_statistics" / statistic / statistic
    return json.loads((root / f"{name}.json").read_text())


def has_reference_draws(name: str) -> bool:
    return (ROOT / "reference_posteriors" / "draws" / "draws" / f"{name}.json.zip").exists()


@cache
def _reference_draws(name: str) -> dict:
    path = ROOT / "reference_posteriors" / "draws" / "draws" / f"{name}.json.zip"
    if not path.exists():
        raise FileNotFoundError(f"posteriordb posterior {name!r} has no vendored reference draws")
    chains = _read_zip_json(path)
    keys = list(chains[0])
    return {key: np.array([chain[key] for chain in chains], dtype=float) for key in keys}


def reference_draws(name: str) -> dict[str, np.ndarray]:
    """Reference draws by flat name (``"beta[1]"``), each an array (chains, draws)."""
    return dict(_reference_draws(name))


_INDEX = re.compile(r"^(?P<base>[^\[]+)(?:\[(?P<index>[0-9, ]+)\])?$")


def reference_array(name: str, parameter: str, shape: tuple[int, ...]) -> np.ndarray:
    """One parameter's reference draws as (chains, draws, *shape), from Stan's flat names
    (1-based, column-major for matrices: ``"theta[2,1]"``)."""
    draws = _reference_draws(name)
    if not shape:
        return draws[parameter].copy()
    first = next(v for v in draws.values())
    out = np.empty(first.shape + tuple(shape))
    found = 0
    for flat, values in draws.items():
        match = _INDEX.match(flat)
        if match is None or match["base"] != parameter or match["index"] is None:
            continue
        index = tuple(int(i) - 1 for i in match["index"].split(","))
        out[(slice(None), slice(None), *index)] = values
        found += 1
    if found != int(np.prod(shape)):
        raise KeyError(f"{name}: {found} reference entries for {parameter}{list(shape)}")
    return out
