"""Kept draws as ArviZ ``DataTree`` files (netCDF through h5netcdf): ``az.from_netcdf(path)``.

The ``posterior`` group holds the model's value variables (the unconstrained space every
sampler moves in, e.g. ``sigma_log__``) with their own shapes; ``sample_stats`` holds the
sampler's per-draw statistics where it has them (NUTS: ``diverging``, ``n_steps``, ...).
Ensemble samplers' walkers are the chains.
"""

from pathlib import Path

import numpy as np

from essbench import io


def to_datatree(draws: np.ndarray, names, shapes, slices, sample_stats: dict | None = None):
    from arviz_base import from_dict

    chains, n_draws = draws.shape[:2]
    posterior = {
        name: draws[:, :, sl].reshape(chains, n_draws, *shape)
        for name, shape, sl in zip(names, shapes, slices, strict=True)
    }
    groups = {"posterior": posterior}
    stats = {
        k: np.asarray(v)
        for k, v in (sample_stats or {}).items()
        if np.shape(v)[:2] == (chains, n_draws)
    }
    if stats:
        groups["sample_stats"] = stats
    return from_dict(groups)


def save(path, tree) -> int:
    """Write ``tree`` atomically (compressed); return the file's size in bytes."""
    encoding = {
        f"/{group}": {name: {"zlib": True, "complevel": 4} for name in tree[group].data_vars}
        for group in tree.children
    }
    with io.atomic_path(path) as tmp:
        tree.to_netcdf(tmp, engine="h5netcdf", encoding=encoding)
    return Path(path).stat().st_size
