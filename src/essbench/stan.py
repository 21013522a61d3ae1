"""Stan through pystan, and the map between Stan's parameters and essbench's.

A target that runs on Stan declares ``STAN_PROGRAM`` (its Stan program) and, where the
program has a ``data`` block, ``stan_data(dim, **options) -> dict``. The program's
``parameters`` block declares the PyMC model's free random variables under the same names
and shapes, in the constrained space (``real<lower=0> tau`` for PyMC's ``tau``, whose value
variable is ``tau_log__``). Stan's draws then map into essbench's parameter space (the
flattened value variables) through PyMC's own transforms, draw by draw, and every
diagnostic and truth applies to them unchanged.

Sampling (:func:`sample_nuts`) runs Stan's adaptive NUTS with a bounded number of chain
processes, keeps httpstan's fits out of its on-disk cache (a cached fit would be returned
without sampling) and reads Stan's own elapsed warm-up and sampling times per chain. The
timed call keeps only the draws (pystan's default, ``save_warmup=False``): every iteration
Stan writes is a JSON message through httpstan's socket, and writing the warm-up's made
Stan's own warm-up clock 7x as long (0.15 s instead of 0.02 s at d = 50, 1,000 iterations:
most of a small run). The warm-up's statistics (leapfrog steps, divergences) come from a
replay outside every clock: the same seed's warm-up with one draw, which Stan repeats
exactly (its first draw is checked against the timed run's).

Compiled models live in httpstan's cache, ``<cache>/httpstan/<httpstan version>/models``,
keyed by the program's code: the first build of a program takes ~30 s with g++, later
ones read the cache. ``<cache>`` is ``$ESSBENCH_STAN_CACHE`` when set (the workflow sets
it to ``results/shared/stan``), else the user's cache directory.
"""

import fcntl
import hashlib
import json
import os
import re
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from time import perf_counter

import numpy as np

CACHE_ENV = "ESSBENCH_STAN_CACHE"


def _use_cache_root() -> None:
    """Point httpstan at ``$ESSBENCH_STAN_CACHE`` when it is set."""
    root = os.environ.get(CACHE_ENV)
    if root:
        # httpstan asks appdirs for its cache directory on every call, and appdirs reads
        # XDG_CACHE_HOME each time.
        os.environ["XDG_CACHE_HOME"] = os.path.abspath(root)


@contextmanager
def _build_lock(program_code: str):
    """One build of a program at a time across processes (jobs share the cache: two g++
    writing one model's library would corrupt it); the second finds it in the cache."""
    import httpstan.cache
    import httpstan.models

    model_id = httpstan.models.calculate_model_name(program_code).split("/")[-1]
    locks = httpstan.cache.cache_directory() / "locks"
    locks.mkdir(parents=True, exist_ok=True)
    with open(locks / f"{model_id}.lock", "w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def build(program_code: str, data: dict | None = None, random_seed: int | None = None):
    """The pystan model of ``program_code`` with ``data`` (compiled once per program)."""
    return compile_program(program_code, data, random_seed)[0]


def compile_program(program_code: str, data: dict | None = None, random_seed=None):
    """``(model, cached)``: :func:`build`, and whether the program was compiled already
    (checked under the build lock, so a build that waited for another one says True)."""
    _use_cache_root()
    import stan

    with _build_lock(program_code):
        cached = in_cache(program_code)
        model = stan.build(program_code, data=plain(data or {}), random_seed=random_seed)
    return model, cached


def in_cache(program_code: str) -> bool:
    """Whether httpstan's cache already holds the compiled program."""
    _use_cache_root()
    import httpstan.cache
    import httpstan.models

    return httpstan.models.calculate_model_name(program_code) in httpstan.cache.list_model_names()


def plain(data: dict) -> dict:
    """``data`` with arrays as nested lists and NumPy scalars as Python numbers."""
    return json.loads(json.dumps(data, default=lambda x: np.asarray(x).tolist()))


def data_sha256(data: dict) -> str:
    return hashlib.sha256(json.dumps(plain(data), sort_keys=True).encode()).hexdigest()


def program_sha256(program_code: str) -> str:
    return hashlib.sha256(program_code.encode()).hexdigest()


def target_program(target, dim: int, options: dict) -> tuple[str, dict]:
    """A target plugin's Stan program and its data at ``dim`` with ``options``."""
    program = getattr(target.module, "STAN_PROGRAM", None)
    if program is None:
        raise ValueError(f"target {target.NAME} declares no STAN_PROGRAM")
    make_data = getattr(target.module, "stan_data", None)
    return program, plain(make_data(dim, **options)) if make_data is not None else {}


def has_data_block(program_code: str) -> bool:
    code = re.sub(r"//[^\n]*|/\*.*?\*/", "", program_code, flags=re.S)
    # A block keyword opens the program or follows the previous block's closing brace
    # (``transformed data`` is another block).
    return re.search(r"(?:^|\})\s*data\s*\{", code) is not None


@cache
def stan_version() -> str:
    """The version of Stan (the C++ library) that httpstan ships, from its own header
    ``stan/version.hpp`` (httpstan exposes no attribute for it); "absent" without httpstan."""
    import importlib.util

    spec = importlib.util.find_spec("httpstan")
    if spec is None or spec.origin is None:
        return "absent"
    header = Path(spec.origin).parent / "include" / "stan" / "version.hpp"
    try:
        text = header.read_text()
    except OSError:
        return "unknown"
    parts = [re.search(rf"#define STAN_{k} (\d+)", text) for k in ("MAJOR", "MINOR", "PATCH")]
    return ".".join(m.group(1) for m in parts) if all(parts) else "unknown"


def versions() -> dict:
    from importlib import metadata

    out = {name: metadata.version(name) for name in ("pystan", "httpstan")}
    out["stan"] = stan_version()
    return out


@dataclass
class NutsFit:
    """Stan's NUTS chains, warm-up included, one row per chain.

    ``params``: each parameter's constrained draws, (chains, warm-up + draws, *shape);
    ``stats``: Stan's per-iteration sampler quantities without the trailing ``__``
    (``n_leapfrog``, ``divergent``, ``stepsize``, ``treedepth``, ``energy``,
    ``accept_stat``, ``lp``), (chains, warm-up + draws); ``warmup_seconds`` and
    ``sampling_seconds``: each chain's own times as Stan's services measure them
    (``Elapsed Time``: a steady clock around the warm-up loop and around the sampling loop,
    truncated to milliseconds) in the timed call, which writes the draws only;
    ``wall_seconds``: this process's clock around that whole ``model.sample`` call;
    ``replay_seconds``: its clock around the warm-up's replay (the warm-up's rows of
    ``params`` and ``stats``), timed apart.
    """

    params: dict
    stats: dict
    warmup_seconds: np.ndarray
    sampling_seconds: np.ndarray
    wall_seconds: float
    replay_seconds: float = 0.0


def _new_pool(workers: int):
    """A pool like httpstan's own (fork, its initializer) with ``workers`` processes."""
    import concurrent.futures
    import multiprocessing as mp

    import httpstan.services_stub as stub

    return concurrent.futures.ProcessPoolExecutor(
        max_workers=workers, mp_context=mp.get_context("fork"), initializer=stub.init_worker
    )


def _chain_processes(workers: int) -> None:
    """Run at most ``workers`` chains at a time.

    httpstan runs each chain in a process of one module-level ``ProcessPoolExecutor`` with
    one worker per CPU, so every chain would run at once whatever the job's threads; it is
    replaced (same start method and initializer) by one with ``workers`` processes.
    """
    import httpstan.services_stub as stub

    if getattr(stub.executor, "_max_workers", None) == workers:
        return
    stub.executor.shutdown(wait=True)
    stub.executor = _new_pool(workers)


def _terminate_chain_processes() -> None:
    import httpstan.services_stub as stub

    for process in list((getattr(stub.executor, "_processes", None) or {}).values()):
        process.terminate()


def _stop_chain_processes() -> None:
    """End the chain processes and start a fresh pool: a ``model.sample`` interrupted in this
    process leaves its chains running in theirs, where they would compete with the next run
    for the job's cores."""
    import httpstan.services_stub as stub

    _terminate_chain_processes()
    old = stub.executor
    old.shutdown(wait=False, cancel_futures=True)
    stub.executor = _new_pool(old._max_workers)


@contextmanager
def _alarm_ends_chains():
    """Let ``SIGALRM`` (the run's wall-time budget, :func:`essbench.pipeline.wall_time_budget`)
    stop a ``model.sample`` call: raised inside it, the handler's exception lands in one
    chain's httpstan task, which httpstan turns into that chain's error while pystan waits for
    the others to finish. Here the alarm first ends the chain processes (pystan then fails at
    once), and the handler in place runs, and raises, when the call has returned."""
    import signal
    import threading

    previous = signal.getsignal(signal.SIGALRM)
    if threading.current_thread() is not threading.main_thread() or not callable(previous):
        yield
        return
    fired = []

    def on_alarm(signum, frame):
        fired.append((signum, frame))
        _terminate_chain_processes()

    signal.signal(signal.SIGALRM, on_alarm)
    try:
        yield
    except Exception:
        if not fired:
            raise
    finally:
        signal.signal(signal.SIGALRM, previous)
        if fired:
            previous(*fired[0])


@contextmanager
def _fits_in_memory():
    """Keep httpstan's fits in this process's memory instead of its on-disk cache.

    httpstan caches every fit made with a random seed and answers the same request again
    from that cache without sampling: a rerun of a run would time nothing, and every run's
    output would pile up in the shared cache. Within this context a fit is stored only until
    pystan has read it.
    """
    import httpstan.cache as disk

    store: dict[str, bytes] = {}
    saved = disk.dump_fit, disk.load_fit, disk.delete_fit

    def dump_fit(fit_bytes: bytes, name: str) -> None:
        store[name] = fit_bytes

    def load_fit(name: str) -> bytes:
        try:
            return store[name]
        except KeyError:
            raise KeyError(f"Fit `{name}` not found.") from None

    def delete_fit(name: str) -> None:
        if store.pop(name, None) is None:
            raise KeyError(f"Fit `{name}` not found.")

    disk.dump_fit, disk.load_fit, disk.delete_fit = dump_fit, load_fit, delete_fit
    try:
        yield
    finally:
        disk.dump_fit, disk.load_fit, disk.delete_fit = saved


_ELAPSED = re.compile(r"([0-9.eE+-]+) seconds \((Warm-up|Sampling)\)")


def _chain_output(output: bytes) -> tuple[dict, float, float]:
    """One chain's raw httpstan output: its first draw's values and Stan's elapsed
    warm-up and sampling seconds (from the logger's ``Elapsed Time`` lines)."""
    first, seconds = None, {}
    for line in output.splitlines():
        if b'"logger"' in line and b" seconds (" in line:
            found = _ELAPSED.search(json.loads(line)["values"][0])
            if found:
                seconds[found.group(2)] = float(found.group(1))
        elif first is None and b'"sample"' in line:
            msg = json.loads(line)
            if msg.get("topic") == "sample" and isinstance(msg.get("values"), dict):
                first = msg["values"]
    if set(seconds) != {"Warm-up", "Sampling"}:
        raise RuntimeError("Stan's output has no 'Elapsed Time' lines for this chain")
    return first or {}, seconds["Warm-up"], seconds["Sampling"]


def by_chain(values: np.ndarray, chains: int) -> np.ndarray:
    """pystan's ``fit[name]``, (*shape, iterations x chains), as (chains, iterations, *shape).

    pystan interleaves the chains on the last axis (iteration i of chain c at
    ``i * chains + c``), whatever its docstring's "stack chains" suggests.
    """
    values = np.asarray(values)
    per_chain = values.reshape(*values.shape[:-1], -1, chains)
    return np.moveaxis(per_chain, (-1, -2), (0, 1))


# httpstan's services take the seed as a C int: essbench's 32-bit run seeds (up to 2**32 - 1)
# are folded into [0, 2**31); a seed of 3,623,342,488 failed with "incompatible function
# arguments" before (the posteriordb study, 3 of 9 stan_nuts runs).
STAN_SEED_MODULUS = 2**31


def _sample(model, chains: int, **stan_args):
    """One ``model.sample`` call kept out of httpstan's fit cache; ``(fit, wall seconds)``."""
    with _fits_in_memory():
        start = perf_counter()
        try:
            with _alarm_ends_chains():
                fit = model.sample(num_chains=chains, **stan_args)
        except BaseException:
            _stop_chain_processes()
            raise
        return fit, perf_counter() - start


def _by_chain_fit(fit, chains: int, names) -> tuple[dict, dict]:
    """A fit's ``(params, stats)`` as (chains, iterations, ...) arrays (see :class:`NutsFit`)."""
    stats = {
        name[:-2]: by_chain(fit[name], chains)[..., 0]
        for name in fit.sample_and_sampler_param_names
    }
    shapes = dict(zip(fit.param_names, fit.dims, strict=True))
    params = {
        name: by_chain(fit[name], chains).reshape(chains, -1, *shapes[name]) for name in names
    }
    return params, stats


def sample_nuts(model, names, seed: int, chains: int, workers: int, **stan_args) -> NutsFit:
    """Stan's adaptive NUTS (``hmc_nuts_diag_e_adapt``), warm-up included in the result.

    ``names``: the parameters to return; ``stan_args``: Stan's own arguments
    (``num_warmup``, ``num_samples``, ``delta``, ``max_depth``, ...). ``workers``: chains
    run at a time (each in its own process). The timed call writes the draws only; the
    warm-up's rows come from its replay (same seed, ``num_samples=1``, warm-up saved),
    whose first draw must be the timed call's first draw, bit for bit.
    """
    import dataclasses

    _use_cache_root()
    _chain_processes(workers)
    model = dataclasses.replace(model, random_seed=int(seed) % STAN_SEED_MODULUS)
    tune = int(stan_args.get("num_warmup", 1000))
    fit, wall = _sample(model, chains, save_warmup=False, **stan_args)
    params, stats = _by_chain_fit(fit, chains, names)
    warm, samp = np.zeros(chains), np.zeros(chains)
    for c, output in enumerate(fit.stan_outputs):
        first, warm[c], samp[c] = _chain_output(output)
        if first and not np.isclose(first["lp__"], stats["lp"][c, 0], rtol=1e-12, atol=0):
            raise RuntimeError("pystan's chain order is not the one by_chain assumes")
    replay_seconds = 0.0
    if tune > 0:
        replay, replay_seconds = _sample(
            model, chains, save_warmup=True, **{**stan_args, "num_samples": 1}
        )
        warm_params, warm_stats = _by_chain_fit(replay, chains, names)
        same = all(
            np.array_equal(warm_params[n][:, tune], params[n][:, 0]) for n in names
        ) and np.array_equal(warm_stats["lp"][:, tune], stats["lp"][:, 0])
        if not same:
            raise RuntimeError(
                "Stan's replayed warm-up did not end where the timed run's did (its first"
                " draw differs): the warm-up's statistics would not be this run's"
            )
        params = {n: np.concatenate([warm_params[n][:, :tune], params[n]], axis=1) for n in names}
        stats = {k: np.concatenate([warm_stats[k][:, :tune], v], axis=1) for k, v in stats.items()}
    return NutsFit(params, stats, warm, samp, wall, replay_seconds)


@cache
def _transforms(model):
    """Compiled PyMC maps: value variables -> constrained free RVs, and back."""
    import pytensor
    from pytensor.graph.replace import graph_replace

    free = list(model.free_RVs)
    values = [model.rvs_to_values[rv] for rv in free]
    to_constrained = pytensor.function(values, model.replace_rvs_by_values(free))
    constrained = [rv.type() for rv in free]
    forward = []
    for rv, c in zip(free, constrained, strict=True):
        transform = model.rvs_to_transforms.get(rv)
        forward.append(c if transform is None else transform.forward(c, *rv.owner.inputs))
    # The forward transforms may read other free RVs (a bound that is a parameter): those
    # are replaced by their values, i.e. by the constrained inputs themselves.
    forward = graph_replace(forward, dict(zip(free, constrained, strict=True)), strict=False)
    to_value = pytensor.function(constrained, forward, on_unused_input="ignore")
    return [rv.name for rv in free], to_constrained, to_value


def constrained(problem, theta: np.ndarray) -> dict:
    """The constrained free RVs (by name) at one flat value-space vector ``theta``."""
    names, to_constrained, _ = _transforms(problem.model)
    point = problem.point(np.asarray(theta, float))
    outs = to_constrained(*[point[v] for v in problem.names])
    return {name: np.asarray(out) for name, out in zip(names, outs, strict=True)}


def to_value_space(problem, draws: dict) -> np.ndarray:
    """Constrained draws ``{name: (n, *shape)}`` -> flat value-space draws (n, ndim)."""
    names, _, to_value = _transforms(problem.model)
    n = len(next(iter(draws.values())))
    out = np.empty((n, problem.ndim))
    for i in range(n):
        values = to_value(*[np.asarray(draws[name][i], dtype=float) for name in names])
        out[i] = np.concatenate([np.ravel(v) for v in values])
    return out


def stan_point(point: dict) -> dict:
    """Arrays -> nested lists, as pystan's ``unconstrain_pars`` takes them."""
    return {k: (v.tolist() if np.ndim(v) else float(v)) for k, v in point.items()}


def pymc_log_density(problem, thetas: np.ndarray) -> dict:
    """PyMC's side of :func:`compare_log_density` at value-space points ``thetas``: log
    density with the Jacobian (``pymc``), without it (``pymc_nojac``) and its gradient
    (``pymc_grad``, essbench's parameter order)."""
    logp = problem.model.compile_logp(mode=problem.mode)
    dlogp = problem.model.compile_dlogp(mode=problem.mode)
    logp_nojac = problem.model.compile_logp(jacobian=False, mode=problem.mode)
    points = [problem.point(theta) for theta in np.atleast_2d(thetas)]
    return {
        "pymc": np.array([float(logp(p)) for p in points]),
        "pymc_nojac": np.array([float(logp_nojac(p)) for p in points]),
        "pymc_grad": np.array([np.asarray(dlogp(p), float) for p in points]),
    }


def compare_log_density(problem, stan_model, thetas: np.ndarray) -> dict:
    """PyMC's and Stan's log densities and gradients at value-space points ``thetas``.

    Both include the Jacobian of the transform to the unconstrained space. Stan's
    gradient is permuted into essbench's parameter order when the two unconstrained
    spaces are the same numbers (same transforms; Stan orders arrays column-major): then
    ``perm`` is that permutation, else ``None`` (the transforms differ, and only the
    densities without Jacobian, ``*_nojac``, are comparable).
    """
    out = {k: [] for k in ("stan", "stan_nojac", "stan_grad")}
    perm = None
    for theta in np.atleast_2d(thetas):
        u = np.asarray(stan_model.unconstrain_pars(stan_point(constrained(problem, theta))))
        if perm is None and u.shape == theta.shape:
            order_u, order_t = np.argsort(u), np.argsort(theta)
            if np.allclose(u[order_u], theta[order_t], rtol=1e-8, atol=1e-10):
                perm = np.empty_like(order_u)
                perm[order_t] = order_u
        out["stan"].append(float(stan_model.log_prob(u.tolist(), adjust_transform=True)))
        out["stan_nojac"].append(float(stan_model.log_prob(u.tolist(), adjust_transform=False)))
        out["stan_grad"].append(np.asarray(stan_model.grad_log_prob(u.tolist()), float))
    result = {k: np.array(v) for k, v in out.items()}
    if perm is not None:
        result["stan_grad"] = result["stan_grad"][:, perm]
    result["perm"] = perm
    return {**pymc_log_density(problem, thetas), **result}
