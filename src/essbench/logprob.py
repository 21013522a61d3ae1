"""Targets given as a log-probability function: the emcee user's model.

A target file may define, instead of ``build_model``:

- ``log_prob(theta) -> float``: the log posterior density (up to a constant) of a 1-d
  parameter vector ``theta``, written with ``jax.numpy`` (then it is traced, jitted and
  differentiated: every sampler can run it) or with plain NumPy (then only the gradient-free
  samplers can: a gradient-based one is refused with :data:`NEEDS_JAX`);
- ``PARAM_NAMES`` (a list of names, one per coordinate of ``theta``) or ``NDIM`` (int): the
  dimension, which is then the target's only one (its ``MIN_DIM`` and ``MAX_DIM``);
- optionally ``initial(rng, n) -> (n, ndim)``: starting points for chains and walkers
  (``rng`` a ``numpy.random.Generator``); shared rule: uniform on (-2, 2) per coordinate,
  Stan's default start;
- optionally ``prior_transform(u) -> theta`` (one point of the unit cube to one parameter
  vector, dynesty's convention) with ``log_likelihood(theta)`` or ``log_prior(theta)``
  (then the likelihood is ``log_prob - log_prior``): what the nested samplers need, since
  their prior comes from the transform and must not be counted twice;
- optionally ``truth(dim)`` and ``sample_truth(dim, n, rng)`` as for other targets;
  without ``truth``, the ``reference`` rule computes the moments: a JAX NUTS run (NumPyro,
  ``REFERENCE_NUTS``, gated as every NUTS reference) for a JAX ``log_prob``, else nested
  sampling (nautilus, ``REFERENCE_NESTED``, gated on Kish's ESS) where a prior transform is
  given (:func:`reference`).

The target's parameters are ``theta``'s coordinates, as the function takes them: samplers
move in that space (write it unconstrained, with the Jacobians of your transforms, if you
want NUTS to work well). A JAX function is jitted once per batch, outside every clock
(``problem.cache``): emcee and zeus call the jitted function (per walker) or its ``vmap``
(``emcee_vectorized``), the JAX NUTS samplers and nutpie (``nutpie.from_pyfunc``) its
gradient.

Keep JAX computations inside functions (no ``jnp`` arrays built at import): importing the
file must not start JAX's backend before essbench has set its thread flags.
"""

import os
import sys
from dataclasses import dataclass
from functools import cache
from time import perf_counter

import numpy as np

from essbench.messages import said
from essbench.problem import Problem

REQUIRED = ("log_prob",)
# The compatibility cell and config-check reason of a gradient-based sampler on a NumPy
# log_prob.
NEEDS_JAX = "needs a gradient: write `log_prob` with `jax.numpy`"
# What a nested sampler needs besides log_prob.
NO_TRANSFORM = "the file defines no prior_transform(u)"
NO_LIKELIHOOD = (
    "prior_transform(u) needs log_likelihood(theta) or log_prior(theta) in the file (nested"
    " samplers draw from the prior, so the likelihood must come apart from it)"
)
# The reference of a NumPy log_prob with a prior transform: nautilus until its effective
# sample size passes twice the gate (policy.REFERENCE_MIN_ESS_BULK).
REFERENCE_NESTED = {"n_live": 2000, "n_networks": 4}
# Initial points: redraws of a start whose log density is not finite.
MAX_RETRIES = 10


def is_log_prob(module) -> bool:
    """Whether a target module is given as a log-probability function."""
    return callable(getattr(module, "log_prob", None)) and not hasattr(module, "build_model")


def declaration_problem(module) -> str | None:
    """What is wrong with a log_prob file's declarations (None: nothing)."""
    names, ndim = getattr(module, "PARAM_NAMES", None), getattr(module, "NDIM", None)
    if names is None and ndim is None:
        return "defines log_prob but neither PARAM_NAMES nor NDIM (the length of theta)"
    if names is not None:
        if isinstance(names, str) or not all(isinstance(n, str) and n for n in names):
            return f"PARAM_NAMES must be a list of names, not {names!r}"
        if len(set(names)) != len(names) or not names:
            return "PARAM_NAMES must be distinct names, at least one"
    if ndim is not None and (isinstance(ndim, bool) or not isinstance(ndim, int) or ndim < 1):
        return f"NDIM must be a positive int, not {ndim!r}"
    if names is not None and ndim is not None and len(names) != ndim:
        return f"NDIM = {ndim} but PARAM_NAMES has {len(names)} names"
    if getattr(module, "OPTIONS", ()):
        return "a log_prob target takes no OPTIONS (log_prob(theta) has no options)"
    return None


def ndim(module) -> int:
    names = getattr(module, "PARAM_NAMES", None)
    return len(names) if names is not None else int(module.NDIM)


def layout(module):
    """(names, shapes, slices) of theta: one scalar per PARAM_NAMES entry, else one vector
    ``theta``."""
    names = getattr(module, "PARAM_NAMES", None)
    if names is None:
        d = ndim(module)
        return ["theta"], [(d,)], [slice(0, d)]
    names = list(names)
    return names, [()] * len(names), [slice(i, i + 1) for i in range(len(names))]


def import_jax():
    """JAX in float64 with essbench's single-thread XLA flags (set before its backend
    starts: :mod:`essbench.samplers._jax`)."""
    from essbench.samplers._jax import xla_flags

    if "jax" not in sys.modules or not _backend_started():
        os.environ["XLA_FLAGS"] = xla_flags(os.environ.get("XLA_FLAGS", ""), os.cpu_count() or 1)
    import jax

    jax.config.update("jax_enable_x64", True)
    return jax


def _backend_started() -> bool:
    try:
        from jax._src import xla_bridge

        return bool(xla_bridge._backends)
    except Exception:  # pragma: no cover - JAX internals moved: assume it started
        return True


def _traces(fn, shape, out_shape=None) -> str | None:
    """None when ``fn`` traces with JAX at a float64 input of ``shape`` (and returns
    ``out_shape`` when given), else why not."""
    jax = import_jax()
    try:
        out = jax.eval_shape(fn, jax.ShapeDtypeStruct(shape, np.float64))
    except Exception as exc:  # the user's function: NumPy-only is allowed
        return said(exc, 200)
    got = getattr(out, "shape", None)
    if out_shape is not None and got != out_shape:
        return f"returns shape {got}, not {out_shape}"
    return None


@cache
def jax_problem(module) -> str | None:
    """None when ``log_prob`` is a JAX function with a gradient, else why it is not (it
    then is run as a NumPy function)."""
    d = ndim(module)
    why = _traces(module.log_prob, (d,), ())
    if why:
        return why
    jax = import_jax()
    return _traces(jax.grad(module.log_prob), (d,), (d,))


def gradient(module) -> bool:
    return jax_problem(module) is None


def prior_missing(module) -> str | None:
    """Why nested samplers cannot run on a log_prob file (None: they can)."""
    if not callable(getattr(module, "prior_transform", None)):
        return NO_TRANSFORM
    if not any(callable(getattr(module, f, None)) for f in ("log_likelihood", "log_prior")):
        return NO_LIKELIHOOD
    return None


def initial(module, n: int, rng) -> np.ndarray:
    """``n`` starting points (n, ndim): the file's ``initial(rng, n)``, else U(-2, 2)."""
    d = ndim(module)
    own = getattr(module, "initial", None)
    x = own(rng, n) if own is not None else rng.uniform(-2.0, 2.0, (n, d))
    x = np.asarray(x, dtype=float)
    if x.shape != (n, d):
        raise ValueError(f"initial(rng, {n}) returned shape {x.shape}, not {(n, d)}")
    return x


def _generator(rng) -> np.random.Generator:
    """A Generator for the user's ``initial`` from essbench's RandomState (deterministic)."""
    if isinstance(rng, np.random.Generator):
        return rng
    return np.random.default_rng(int(rng.randint(2**31 - 1)))


@dataclass
class LogProbProblem(Problem):
    """A log_prob target at its dimension: the :class:`essbench.problem.Problem` interface
    (``model`` is None) with the functions built from ``log_prob``, jitted once per batch
    (``cache``) for a JAX function."""

    jax: bool = False

    @property
    def file(self):
        return self.module.module

    def initial_points(self, n: int, rng) -> np.ndarray:
        return initial(self.file, n, _generator(rng))

    def _jitted(self, key: str, make):
        if key not in self.cache:
            self.cache[key] = make()
        return self.cache[key]

    def compile_logp(self):
        """``f(theta) -> float``: the jitted JAX function (called once at zero, so the
        compilation is paid here), or the NumPy one."""
        log_prob = self.file.log_prob
        if not self.jax:
            return lambda theta: float(log_prob(np.asarray(theta, dtype=float)))

        def make():
            jax = import_jax()
            fn = jax.jit(log_prob)
            fn(np.zeros(self.ndim)).block_until_ready()
            return fn

        fn = self._jitted("log_prob", make)
        return lambda theta: float(fn(theta))

    def compile_logp_batched(self):
        """``f(X[n, d]) -> [n]``: ``jax.vmap`` of the JAX function, jitted (JAX compiles once
        per batch size: a sampler calls it once per size it uses before its clock starts),
        or a loop over the NumPy one."""
        log_prob = self.file.log_prob
        if not self.jax:
            return lambda xs: np.array([float(log_prob(x)) for x in np.asarray(xs, float)])

        def make():
            jax = import_jax()
            return jax.jit(jax.vmap(log_prob))

        fn = self._jitted("log_prob_batched", make)
        return lambda xs: np.asarray(fn(np.asarray(xs, dtype=float)))

    def value_and_grad(self):
        """The jitted ``theta -> (log_prob, gradient)`` of a JAX function."""

        def make():
            jax = import_jax()
            fn = jax.jit(jax.value_and_grad(self.file.log_prob))
            jax.block_until_ready(fn(np.zeros(self.ndim)))
            return fn

        return self._jitted("value_and_grad", make)

    def jax_logdensity(self):
        """The log density for the JAX NUTS samplers (they trace and compile it)."""
        return self.file.log_prob

    def jax_initial_points(self, chains: int, seed: int, logdensity) -> np.ndarray:
        """One start per chain from ``initial``, redrawn while the density is not finite."""
        rng = np.random.default_rng(seed)
        logp = self.compile_logp()
        points = []
        for _ in range(chains):
            for _attempt in range(MAX_RETRIES + 1):
                x = initial(self.file, 1, rng)[0]
                if np.isfinite(logp(x)):
                    break
            points.append(x)
        return np.stack(points)

    def warm_compile(self, gradient: bool) -> dict[str, float]:
        seconds = {}
        start = perf_counter()
        self.compile_logp()(np.zeros(self.ndim))
        seconds["logp"] = perf_counter() - start
        if self.jax and gradient:
            start = perf_counter()
            self.value_and_grad()
            seconds["logp_dlogp"] = perf_counter() - start
        return seconds


def build(target: str, dim: int, options: dict, backend: str) -> LogProbProblem:
    from essbench import registry

    plugin = registry.target(target)
    start = perf_counter()
    module = plugin.module
    if dim != ndim(module):
        raise ValueError(f"target {target} has {ndim(module)} parameters, not dim = {dim}")
    names, shapes, slices = layout(module)
    jax = plugin.GRADIENT
    return LogProbProblem(
        target,
        dim,
        dict(options or {}),
        backend,
        None,
        perf_counter() - start,
        names,
        shapes,
        slices,
        jax=bool(jax),
    )


# --- the config check ---------------------------------------------------------------------


def config_problems(plugin, where: str) -> list[str]:
    """The config check of a log_prob file (``where``: "config: targets.NAME: FILE"): its
    functions evaluated at the initial points before any job runs; one line per problem."""
    module = plugin.module
    d = ndim(module)
    try:
        x = initial(module, 4, np.random.default_rng(0))
    except Exception as exc:  # the user's code
        return [f"{where}: initial(rng, 4) raised {said(exc)}"]
    if not np.all(np.isfinite(x)):
        return [f"{where}: initial(rng, 4) returned non-finite points"]
    jax = plugin.GRADIENT
    for i, point in enumerate(x):
        try:
            value = np.asarray(module.log_prob(point))
        except Exception as exc:
            return [f"{where}: log_prob(theta) at initial point {i} raised {said(exc)}"]
        if value.shape != ():
            return [f"{where}: log_prob(theta) returned shape {value.shape}, not a scalar"]
        if not np.isfinite(value):
            return [
                f"{where}: log_prob(theta) is {float(value)} at initial point {i}"
                f" ({np.array2string(point, precision=3)}); starts need a finite density"
                " (define initial(rng, n))"
            ]
    if jax:
        grad = plugin_value_and_grad(module)
        for i, point in enumerate(x):
            _, g = grad(point)
            if not np.all(np.isfinite(np.asarray(g))):
                return [f"{where}: the JAX gradient of log_prob is not finite at initial point {i}"]
    if callable(getattr(module, "prior_transform", None)):
        why = _prior_problem(module, d)
        if why:
            return [f"{where}: {why}"]
    if plugin.TRUTH == "reference" and not jax and prior_missing(module):
        return [
            f"{where}: defines no truth(), log_prob is not a JAX function ({jax_problem(module)})"
            f" and {prior_missing(module)}: no reference moments can be computed; write"
            " log_prob with jax.numpy, give a prior_transform, or define truth()"
        ]
    if plugin.TRUTH != "reference":
        try:
            truth = module.truth(d)
        except Exception as exc:
            return [f"{where}: truth({d}) raised {said(exc)}"]
        if np.shape(truth.mean) != (d,) or np.shape(truth.var) != (d,):
            return [
                f"{where}: truth({d}) gives moments of shape {np.shape(truth.mean)}, not ({d},)"
            ]
    return []


def plugin_value_and_grad(module):
    jax = import_jax()
    return jax.jit(jax.value_and_grad(module.log_prob))


def _prior_problem(module, d: int) -> str | None:
    rng = np.random.default_rng(1)
    for u in (np.full(d, 0.5), *rng.uniform(0.05, 0.95, (3, d))):
        try:
            theta = np.asarray(module.prior_transform(u), dtype=float)
        except Exception as exc:
            return f"prior_transform(u) raised {said(exc)}"
        if theta.shape != (d,) or not np.all(np.isfinite(theta)):
            return f"prior_transform(u) must return {d} finite numbers, gave {theta!r}"
        like = likelihood_function(module)
        if like is not None:
            try:
                value = np.asarray(like(theta))
            except Exception as exc:
                return f"the log likelihood at prior_transform(u) raised {said(exc)}"
            if value.shape != () or np.isnan(value):
                return f"the log likelihood at prior_transform(u) is {value!r}, not a number"
    return None


# --- nested samplers ------------------------------------------------------------------------


def likelihood_function(module):
    """The file's log likelihood: ``log_likelihood``, else ``log_prob - log_prior``."""
    own = getattr(module, "log_likelihood", None)
    if callable(own):
        return own
    prior = getattr(module, "log_prior", None)
    if callable(prior):
        return lambda theta: module.log_prob(theta) - prior(theta)
    return None


def nested_problem(problem: LogProbProblem):
    """The :class:`essbench.nested.NestedProblem` of a log_prob file with a prior transform:
    JAX functions are vmapped and jitted (paid by the batch's first run, before its clock),
    NumPy ones looped over."""
    from essbench.nested import NestedProblem, _finite

    module, d = problem.file, problem.ndim
    why = prior_missing(module)
    if why:
        raise ValueError(f"target {problem.target}: {why}")
    like = likelihood_function(module)
    transform = module.prior_transform
    if _traces(transform, (d,), (d,)) is None:
        jax = import_jax()
        batched_transform = jax.jit(jax.vmap(transform))

        def transform_fn(u):
            return np.asarray(batched_transform(np.asarray(u, dtype=float)))
    else:

        def transform_fn(u):
            return np.stack([np.asarray(transform(x), dtype=float) for x in np.asarray(u, float)])

    if _traces(like, (d,), ()) is None:
        jax = import_jax()
        one, many = jax.jit(like), jax.jit(jax.vmap(like))

        def single(x):
            return float(one(np.asarray(x, dtype=float)))

        def batched(xs):
            return np.asarray(many(np.asarray(xs, dtype=float)))
    else:

        def single(x):
            return float(like(np.asarray(x, dtype=float)))

        def batched(xs):
            return np.array([float(like(x)) for x in np.asarray(xs, float)])

    return NestedProblem(
        kind="transform",
        ndim=d,
        transform=transform_fn,
        loglike=lambda x: float(_finite(single(x))),
        loglike_batched=lambda xs: _finite(batched(xs)),
    )


# --- the reference --------------------------------------------------------------------------


def reference(target: str, dim: int, options: dict, backend: str, threads: int = 2) -> dict:
    """Reference moments of a log_prob target without ``truth``: a JAX NUTS run (NumPyro,
    the target's ``REFERENCE_NUTS``, gated as every NUTS reference) for a JAX function, else
    nautilus from the prior transform (gated on Kish's ESS and convergence). Raises
    :class:`essbench.pipeline.ReferenceGateError` when the gates fail; returns the record."""
    from essbench import metrics, policy, registry
    from essbench.pipeline import ReferenceGateError

    plugin = registry.target(target)
    problem = build(target, dim, options, backend)
    where = plugin.file or plugin.module.__file__
    if plugin.GRADIENT:
        from essbench.samplers import numpyro_nuts

        settings = {
            **registry.sampler("numpyro_nuts").DEFAULTS,
            "chain_method": "sequential",
            **plugin.REFERENCE_NUTS,
        }
        run = numpyro_nuts.run(problem, settings, seed=20_211_028)
        per = metrics.per_parameter(run.draws, threads)
        summary = metrics.summarize_ess_rhat(per)
        divergences = run.stats.get("divergences", 0)
        failed = policy.reference_failures(summary, divergences)
        if failed:
            raise ReferenceGateError(
                f"reference for {target} d={dim} (NumPyro NUTS) failed its gates:"
                f" {'; '.join(failed)}; raise REFERENCE_NUTS draws/target_accept in {where}"
            )
        draws = run.draws
        mean = draws.mean(axis=(0, 1))
        var = ((draws - mean) ** 2).mean(axis=(0, 1))
        method = "numpyro_nuts"
        extra = {
            "divergences": divergences,
            **summary,
            **metrics.shape_of(draws.reshape(-1, draws.shape[-1])),
        }
    else:
        from essbench.samplers import nautilus

        gate = policy.REFERENCE_MIN_ESS_BULK
        settings = {
            **registry.sampler("nautilus").DEFAULTS,
            "n_eff": 2 * gate,
            **getattr(plugin.module, "REFERENCE_NESTED", REFERENCE_NESTED),
        }
        run = nautilus.run(problem, settings, seed=20_211_028)
        per = metrics.weighted_per_parameter(run.draws, run.weights)
        ess = float(per["ess_kish"][0])
        failed = []
        if not run.stats.get("converged"):
            failed.append("nautilus stopped before its n_eff")
        if not ess > gate:
            failed.append(f"Kish ESS {ess:.0f} is not > {gate}")
        if failed:
            raise ReferenceGateError(
                f"reference for {target} d={dim} (nautilus) failed its gates:"
                f" {'; '.join(failed)}; raise REFERENCE_NESTED n_live in {where}"
            )
        draws, mean, var = run.draws, per["mean"], per["var"]
        method = "nautilus"
        extra = {
            "ess_kish": ess,
            "logz": run.stats.get("logz"),
            **metrics.shape_of(run.draws.reshape(-1, run.draws.shape[-1]), run.weights.ravel()),
        }
    return {
        "target": target,
        "dim": dim,
        "names": problem.names,
        "method": method,
        "settings": settings,
        "mean": np.asarray(mean).tolist(),
        "var": np.asarray(var).tolist(),
        "mean_mcse": per["mcse_mean"].tolist(),
        "var_mcse": per["mcse_var"].tolist(),
        "sampling_seconds": run.sampling_seconds,
        "n_draws": int(draws.shape[0] * draws.shape[1]),
        **extra,
    }


# --- nutpie through its own API -------------------------------------------------------------


def nutpie_model(problem: LogProbProblem):
    """nutpie's model of a JAX log_prob (``nutpie.compiled_pyfunc.from_pyfunc``, the route
    ``compile_pymc_model(backend="jax")`` takes): nutpie's Rust sampler calls the jitted
    value-and-gradient function."""
    from nutpie.compiled_pyfunc import from_pyfunc

    value_and_grad = problem.value_and_grad()
    names, shapes, slices = problem.names, problem.shapes, problem.slices

    def make_logp_fn():
        def logp(x, **shared):
            value, grad = value_and_grad(x)
            return float(value), np.asarray(grad, dtype="float64", order="C")

        return logp

    def make_expand_fn(seed1, seed2, chain):
        def expand(x, **shared):
            return {
                name: np.asarray(x[sl], dtype="float64", order="C").reshape(shape)
                for name, shape, sl in zip(names, shapes, slices, strict=True)
            }

        return expand

    def initial_point(seed):
        return problem.jax_initial_points(1, int(seed), None)[0]

    return from_pyfunc(
        problem.ndim,
        make_logp_fn,
        make_expand_fn,
        [np.dtype("float64")] * len(names),
        shapes,
        names,
        make_initial_point_fn=initial_point,
    )


# --- comparing with a PyMC target -----------------------------------------------------------


def compare_with_model(log_prob_module, target: str, n: int = 20, seed: int = 0, scale=1.0):
    """log_prob minus the PyMC target's model log density (both in the same parameter
    space, the model's value variables, Jacobians included) at ``n`` points: the target's
    initial points spread by ``scale``. Agreement up to a constant: the differences are all
    equal. Returns (points, log_prob values, model values)."""
    from essbench.problem import build_problem

    problem = build_problem(target, ndim(log_prob_module))
    rng = np.random.RandomState(seed)
    centre = problem.initial_points(n, rng)
    points = centre.mean(axis=0) + scale * (centre - centre.mean(axis=0))
    model_logp = problem.compile_logp()
    ours = np.array([float(log_prob_module.log_prob(x)) for x in points])
    theirs = np.array([model_logp(x) for x in points])
    return points, ours, theirs


def _load(path):
    import importlib.util

    spec = importlib.util.spec_from_file_location("essbench_log_prob_file", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def main(argv=None) -> int:
    """``python -m essbench.logprob compare FILE TARGET``: the agreement check of a log_prob
    file with a PyMC target; ``python -m essbench.logprob table CONFIG``: the compatibility
    table of a study's samplers on its targets."""
    import argparse

    parser = argparse.ArgumentParser(prog="python -m essbench.logprob")
    sub = parser.add_subparsers(dest="command", required=True)
    cmp = sub.add_parser("compare", help="log_prob file against a PyMC target")
    cmp.add_argument("file")
    cmp.add_argument("target")
    cmp.add_argument("-n", type=int, default=20)
    cmp.add_argument("--scale", type=float, default=3.0)
    tab = sub.add_parser("table", help="compatibility of every sampler with some targets")
    tab.add_argument("targets", nargs="+", help="target files (or shipped target names)")
    args = parser.parse_args(argv)
    if args.command == "compare":
        module = _load(args.file)
        import_jax()
        _, ours, theirs = compare_with_model(module, args.target, args.n, scale=args.scale)
        diff = ours - theirs
        print(f"{'log_prob':>14} {args.target + ' logp':>22} {'difference':>14}")
        for a, b, c in zip(ours, theirs, diff, strict=True):
            print(f"{a:14.6f} {b:22.6f} {c:14.9f}")
        spread = float(np.max(diff) - np.min(diff))
        print(f"differences: constant {np.mean(diff):.9f}, spread (max - min) {spread:.3e}")
        return 0 if spread < 1e-6 else 1
    from pathlib import Path

    from essbench import registry

    names = []
    for given in args.targets:
        if given in registry.targets():
            names.append(given)
        else:
            names.append(registry.load_file("target", Path(given).stem, given).NAME)
    print(compatibility_table(names))
    return 0


def compatibility_table(targets: list[str]) -> str:
    """Every shipped sampler (but the tests' own) against ``targets``: the README's table
    for a user's targets."""
    from essbench import registry

    lines = [
        "| sampler | " + " | ".join(f"`{t}`" for t in targets) + " |",
        "|---|" + "---|" * len(targets),
    ]
    for name, sampler in registry.samplers().items():
        if sampler.TEST_ONLY:
            continue
        cells = [registry.compatibility(sampler, registry.target(t)) for t in targets]
        lines.append(f"| `{name}` | " + " | ".join(cells) + " |")
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())


EXAMPLE_FILES = {
    "radial_velocity_logprob": "examples/radial_velocity_logprob.py",
    "radial_velocity_numpy": "examples/radial_velocity_numpy.py",
}


def example_table() -> str:
    """The README's table for the worked example: every sampler on the PyMC radial_velocity
    and on its two log_prob twins (JAX, NumPy). The twins are registered only meanwhile."""
    from essbench import registry

    added = [name for name in EXAMPLE_FILES if name not in registry.targets()]
    try:
        for name in added:
            registry.load_file("target", name, registry.REPO / EXAMPLE_FILES[name])
        return compatibility_table(["radial_velocity", *EXAMPLE_FILES])
    finally:
        for name in added:
            registry._USER["target"].pop(name, None)
