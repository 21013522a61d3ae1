"""Reference draws the user supplies: ``targets: {<name>: {reference_draws: path}}``.

Draws of the model's free variables on their constrained scale (``sigma``, not
``sigma_log__``), as ``pm.sample`` gives them, in one of two formats:

- **ArviZ netCDF** (``.nc``; ``az.to_netcdf`` / ``DataTree.to_netcdf``, or an older
  ``InferenceData`` file): a ``posterior`` group holding each free variable with dims
  ``(chain, draw, *its shape)``; other variables (Deterministics, ...) are ignored. Where a
  ``sample_stats`` group has ``diverging``, its count is gated as a NUTS reference's is.
- **CSV** (``.csv``): one column per scalar element, named ``name`` for a scalar and
  ``name[i]`` (``name[i,j]``, ...) otherwise, indices 0-based in C order, as ``az.summary``
  labels them; an optional integer ``chain`` column says which chain each row belongs to
  (chains of equal length; without it, the file is one chain); other columns (``draw``,
  ``lp__``, Deterministics) are ignored. Stan's 1-based ``theta.1`` columns are refused with
  the names to use instead.

:func:`load` reads a file against the model's free variables and their shapes, and raises
:class:`DrawsError` (one line: what is wrong and what to fix) where it cannot serve: the config
check calls it before any job runs; the ``reference`` rule then maps the draws into the
model's value variables (:func:`essbench.pipeline.reference`, route ``user_draws``).
"""

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from essbench.messages import said

NETCDF_SUFFIXES = (".nc", ".netcdf", ".nc4", ".h5")
CSV_SUFFIXES = (".csv",)
_ELEMENT = re.compile(r"^(?P<name>.+)\[(?P<index>\s*\d+\s*(?:,\s*\d+\s*)*)\]$")
_STAN_ELEMENT = re.compile(r"^(?P<name>.+?)\.(?P<index>\d+(?:\.\d+)*)$")


class DrawsError(ValueError):
    """A reference draws file that cannot serve; ``str()`` says what to fix, in one line."""


@dataclass
class UserDraws:
    """The file's draws of each free variable, ``{name: (chains, draws, *shape)}``."""

    variables: dict
    chains: int
    draws: int
    format: str
    divergences: int | None = None  # None: the file records none (a CSV, no sample_stats)


def resolve(path, base=None) -> Path | None:
    """The file ``path`` names: relative to the working directory, else to ``base`` (the
    essbench checkout, like a target's ``file``); None where neither exists."""
    given = Path(path)
    for candidate in (given, *((Path(base) / given,) if base is not None else ())):
        if candidate.is_file():
            return candidate.resolve()
    return None


def sha256(path) -> str:
    """The file's contents' hash: the reference (and every run's settings) keys by it."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def file_format(path) -> str:
    suffix = Path(path).suffix.lower()
    if suffix in NETCDF_SUFFIXES:
        return "netcdf"
    if suffix in CSV_SUFFIXES:
        return "csv"
    raise DrawsError(
        f"unknown format {suffix or '(no suffix)'!r}: give an ArviZ netCDF file (.nc) with a"
        " posterior group, or a CSV file (.csv) with one column per scalar element"
    )


def load(path, shapes: dict) -> UserDraws:
    """The draws in ``path`` of the variables ``shapes`` (``{name: shape}``, the model's free
    variables), checked: each present with its shape, every value finite."""
    kind = file_format(path)
    out = _netcdf(path, shapes) if kind == "netcdf" else _csv(path, shapes)
    for name, values in out.variables.items():
        bad = int(np.size(values) - np.count_nonzero(np.isfinite(values)))
        if bad:
            raise DrawsError(
                f"{name!r} has {bad} non-finite values (NaN or inf); every draw must be finite"
            )
    if out.draws < 4:
        raise DrawsError(f"{out.draws} draws per chain: too few to estimate an ESS (at least 4)")
    return out


def _netcdf(path, shapes: dict) -> UserDraws:
    import xarray as xr

    try:
        tree = xr.open_datatree(path, engine="h5netcdf")
    except Exception as exc:  # the user's file: any error is theirs to fix
        message = said(exc, 200)
        raise DrawsError(f"cannot be read as netCDF ({message})") from None
    with tree:
        if "posterior" not in tree.children:
            groups = ", ".join(tree.children) or "none"
            raise DrawsError(
                f"has no posterior group (groups: {groups}); write the draws with ArviZ"
                " (az.to_netcdf, or DataTree.to_netcdf) so that az.from_netcdf(path).posterior"
                " holds them"
            )
        posterior = tree["posterior"].to_dataset()
        variables, chains, draws = {}, None, None
        for name, shape in shapes.items():
            if name not in posterior.data_vars:
                raise DrawsError(
                    f"has no variable {name!r} in its posterior group (the model's free"
                    f" variables: {', '.join(shapes)}; on their constrained scale)"
                )
            array = posterior[name]
            if array.dims[:2] != ("chain", "draw"):
                if not {"chain", "draw"} <= set(array.dims):
                    raise DrawsError(
                        f"posterior variable {name!r} has dims {array.dims}: it needs"
                        " 'chain' and 'draw' (ArviZ's)"
                    )
                rest = [d for d in array.dims if d not in ("chain", "draw")]
                array = array.transpose("chain", "draw", *rest)
            values = np.asarray(array.values, dtype=float)
            if tuple(values.shape[2:]) != tuple(shape):
                raise DrawsError(
                    f"{name!r} has shape {tuple(values.shape[2:])} per draw, not {tuple(shape)}"
                    " (the model's)"
                )
            variables[name] = values
            chains, draws = values.shape[:2]
        divergences = None
        if "sample_stats" in tree.children:
            stats = tree["sample_stats"].to_dataset()
            if "diverging" in stats.data_vars:
                divergences = int(np.asarray(stats["diverging"].values, dtype=bool).sum())
    return UserDraws(variables, int(chains), int(draws), "netcdf", divergences)


def element_columns(name: str, shape) -> list[str]:
    """The CSV columns of variable ``name`` of ``shape``: ``name``, or ``name[i,j]``."""
    if not shape:
        return [name]
    return [f"{name}[{','.join(str(i) for i in index)}]" for index in np.ndindex(*shape)]


def _normalise(column: str) -> str:
    """``theta[0, 1]`` (az.summary's spacing) as ``theta[0,1]``."""
    match = _ELEMENT.match(column.strip())
    if not match:
        return column.strip()
    index = ",".join(part.strip() for part in match["index"].split(","))
    return f"{match['name']}[{index}]"


def _csv(path, shapes: dict) -> UserDraws:
    import pandas as pd

    try:
        frame = pd.read_csv(path, comment="#")
    except Exception as exc:  # the user's file: any error is theirs to fix
        message = said(exc, 200)
        raise DrawsError(f"cannot be read as CSV ({message})") from None
    frame.columns = [_normalise(str(c)) for c in frame.columns]
    columns = set(frame.columns)
    for name, shape in shapes.items():
        wanted = element_columns(name, shape)
        missing = [c for c in wanted if c not in columns]
        if not missing:
            continue
        stan = [c for c in columns if (m := _STAN_ELEMENT.match(c)) and m["name"] == name]
        hint = f"; Stan's 1-based {sorted(stan)[0]!r} columns are not read" if stan else ""
        what = (
            f"has shape {tuple(shape)}: columns {wanted[0]} ... {wanted[-1]}, 0-based, C order"
            if shape
            else "is a scalar: one column"
        )
        raise DrawsError(f"has no column {missing[0]!r} (the model's {name!r} {what}{hint})")
    if "chain" in columns:
        labels = frame["chain"]
        if not pd.api.types.is_integer_dtype(labels):
            raise DrawsError("its 'chain' column must hold integers (a chain label per row)")
        groups = [g for _, g in frame.groupby("chain", sort=True)]
        lengths = sorted({len(g) for g in groups})
        if len(lengths) > 1:
            raise DrawsError(
                f"its chains have unequal lengths ({lengths[0]} to {lengths[-1]} rows); give"
                " each chain the same number of draws, or drop the 'chain' column (one chain)"
            )
    else:
        groups = [frame]
    variables = {}
    for name, shape in shapes.items():
        cols = element_columns(name, shape)
        try:
            blocks = [g[cols].to_numpy(dtype=float) for g in groups]
        except (TypeError, ValueError) as exc:
            message = str(exc).splitlines()[0][:200]
            raise DrawsError(
                f"{name!r}: a column holds something else than numbers ({message})"
            ) from None
        values = np.stack(blocks)  # (chains, draws, elements)
        variables[name] = values.reshape(*values.shape[:2], *shape)
    return UserDraws(variables, len(groups), len(groups[0]), "csv")


def flat_variables(drawn: UserDraws) -> dict:
    """``{name: (chains * draws, *shape)}``: the draws as ``Problem.compile_to_values`` takes
    them."""
    n = drawn.chains * drawn.draws
    return {name: v.reshape(n, *v.shape[2:]) for name, v in drawn.variables.items()}
