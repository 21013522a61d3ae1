"""Atomic file writes: a crash never leaves a half-written result behind."""

import json
import math
import os
import tempfile
from contextlib import contextmanager
from pathlib import Path

import numpy as np


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


@contextmanager
def atomic_path(path):
    """Yield a temporary path beside ``path``; rename it over ``path`` on success.

    The file gets the permissions a plain ``open(path, "w")`` would (0666 less the umask:
    0644 under umask 022), not ``mkstemp``'s private 0600, whoever wrote the temporary file.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".part")
    os.close(fd)
    try:
        yield Path(tmp)
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def remove_partials(path) -> list[Path]:
    """Remove what an :func:`atomic_path` for ``path`` left behind when its process was
    killed outright (SIGKILL: no ``except`` ran): ``.<name>.*.part`` beside it. Only the
    process that writes ``path`` may call this (Snakemake runs one job per output)."""
    path = Path(path)
    if not path.parent.is_dir():
        return []
    stale = sorted(path.parent.glob(f".{path.name}.*.part"))
    for part in stale:
        part.unlink(missing_ok=True)
    return stale


def _jsonable(value):
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None if math.isnan(value) else str(value)
    return value


def write_json(path, data: dict) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(_jsonable(data), indent=1, sort_keys=True) + "\n")


def read_json(path) -> dict:
    return json.loads(Path(path).read_text())


def write_text(path, text: str) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(text)
