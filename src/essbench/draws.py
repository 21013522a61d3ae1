"""Kept draws as ArviZ ``DataTree`` files (netCDF through h5netcdf): ``az.from_netcdf(path)``.

For a PyMC model (:func:`model_datatree`) the ``posterior`` group holds what ``pm.sample``
would give the user: the model's free variables on their constrained scale (``sigma``, not
the ``sigma_log__`` every sampler moves in) and its ``pm.Deterministic``s, with the model's
``dims`` and ``coords``. A target given as a ``log_prob`` function has no other terms than
its parameter vector: its named parameters (:func:`to_datatree`). ``sample_stats`` holds
the sampler's per-draw statistics where it has them (NUTS: ``diverging``, ``n_steps``, ...).
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


# Draws mapped into the model's terms at once, at most this many (bounds the memory).
CHUNK_DRAWS = 50_000


def model_variables(problem, draws: np.ndarray, names=None) -> dict:
    """``{name: (chains, draws, *shape)}``: the model's free variables (constrained) and
    Deterministics (``names``: those, default all) at each draw of the flat value vectors
    ``draws`` (chains, draws, params)."""
    chains, n_draws = draws.shape[:2]
    flat = draws.reshape(chains * n_draws, -1)
    # Compiled once per batch (outside every clock: draws are kept after the run's).
    key = "kept_draws_variables" if names is None else ("variables", tuple(names))
    variables = problem.cache.get(key) or problem.compile_variables(names)
    problem.cache[key] = variables
    parts = [variables(flat[i : i + CHUNK_DRAWS]) for i in range(0, len(flat), CHUNK_DRAWS)]
    return {
        name: np.concatenate([part[name] for part in parts]).reshape(
            chains, n_draws, *np.shape(parts[0][name])[1:]
        )
        for name in parts[0]
    }


def model_datatree(problem, draws: np.ndarray, sample_stats: dict | None = None):
    """The run's draws in the model's own terms (see the module's docstring); a problem
    with no PyMC model (a ``log_prob`` target) keeps its parameters as they are."""
    from arviz_base import from_dict

    model = problem.model
    if model is None or not getattr(model, "free_RVs", None):
        return to_datatree(draws, problem.names, problem.shapes, problem.slices, sample_stats)
    posterior = model_variables(problem, draws)
    dims = {
        name: list(model.named_vars_to_dims[name])
        for name in posterior
        if model.named_vars_to_dims.get(name)
    }
    used = {dim for names in dims.values() for dim in names}
    coords = {dim: list(model.coords[dim]) for dim in used if model.coords.get(dim) is not None}
    groups = {"posterior": posterior}
    stats = _stats(sample_stats, draws.shape[:2])
    if stats:
        groups["sample_stats"] = stats
    return from_dict(groups, dims=dims, coords=coords)


def _stats(sample_stats: dict | None, chains_draws) -> dict:
    return {
        k: np.asarray(v) for k, v in (sample_stats or {}).items() if np.shape(v)[:2] == chains_draws
    }


def save(path, tree) -> int:
    """Write ``tree`` atomically (compressed); return the file's size in bytes."""
    encoding = {
        f"/{group}": {name: {"zlib": True, "complevel": 4} for name in tree[group].data_vars}
        for group in tree.children
    }
    with io.atomic_path(path) as tmp:
        tree.to_netcdf(tmp, engine="h5netcdf", encoding=encoding)
    return Path(path).stat().st_size
