"""A target built at one dimension, with the compiled log-densities samplers need.

``Problem`` owns the PyMC model and knows how to flatten its value variables into one
parameter vector (the order used for draws, truth and diagnostics).
"""

from dataclasses import dataclass, field
from time import perf_counter

import numpy as np

from essbench import registry

BACKEND_MODES = {"numba": "NUMBA", "c": "C"}


def compile_mode(backend: str) -> str:
    try:
        return BACKEND_MODES[backend]
    except KeyError:
        raise ValueError(
            f"unknown PyTensor backend {backend!r}; known: {', '.join(BACKEND_MODES)}"
        ) from None


@dataclass
class Problem:
    target: str
    dim: int
    options: dict
    backend: str
    model: object
    build_seconds: float
    names: list[str] = field(default_factory=list)
    shapes: list[tuple[int, ...]] = field(default_factory=list)
    slices: list[slice] = field(default_factory=list)
    # What samplers may reuse across the runs of this model in one batch (a compiled model,
    # never sampler state such as adapted step sizes): its throw-away run pays for it.
    cache: dict = field(default_factory=dict)

    @property
    def mode(self) -> str:
        return compile_mode(self.backend)

    @property
    def ndim(self) -> int:
        return self.slices[-1].stop if self.slices else 0

    @property
    def module(self):
        return registry.target(self.target)

    def truth(self):
        return self.module.truth(self.dim, **self.options)

    def initial_points(self, n: int, rng: np.random.RandomState) -> np.ndarray:
        own = getattr(self.module.module, "initial_points", None)
        if own is not None:
            return np.asarray(own(self.dim, n, rng, **self.options))
        # Shared rule: a small ball around the model's initial point (unconstrained space).
        point = self.model.initial_point()
        x0 = np.concatenate([np.ravel(point[name]) for name in self.names])
        return x0 + 0.1 * rng.randn(n, self.ndim)

    def point(self, theta: np.ndarray) -> dict:
        """The value-variable dict for one flat parameter vector."""
        return {
            name: theta[sl].reshape(shape)
            for name, shape, sl in zip(self.names, self.shapes, self.slices, strict=True)
        }

    def compile_logp(self):
        """The model's compiled log-density, called with one flat vector (the tutorial's way)."""
        logp = self.model.compile_logp(mode=self.mode)
        if len(self.names) == 1 and self.shapes[0] == (self.ndim,):
            name = self.names[0]
            return lambda theta: float(logp({name: theta}))
        return lambda theta: float(logp(self.point(theta)))

    def compile_logp_batched(self):
        """The log-density of many flat vectors at once: ``f(X[n, d]) -> logp[n]``."""
        import pytensor.tensor as pt
        from pymc.pytensorf import compile as pm_compile
        from pytensor.graph.replace import vectorize_graph

        batch = pt.matrix("theta_batch")
        replace = {}
        for value_var, shape, sl in zip(
            self.model.value_vars, self.shapes, self.slices, strict=True
        ):
            replace[value_var] = batch[:, sl].reshape((batch.shape[0], *shape))
        batched = vectorize_graph(self.model.logp(), replace=replace)
        fn = pm_compile([batch], batched, mode=self.mode)
        return lambda thetas: np.asarray(fn(np.asarray(thetas, dtype="float64")))

    def compile_variables(self, names=None):
        """``f(X[n, ndim]) -> {name: (n, *shape)}``: model variables at many flat value
        vectors at once, in the model's own terms (a free variable on its constrained scale,
        ``sigma`` not ``sigma_log__``; a ``pm.Deterministic``'s value). ``names``: any of
        the model's free variables and Deterministics (default: all of them, in the model's
        order)."""
        import pytensor.tensor as pt
        from pymc.pytensorf import compile as pm_compile
        from pytensor.graph.replace import vectorize_graph

        model = self.model
        if names is None:
            names = [v.name for v in (*model.free_RVs, *model.deterministics)]
        names = list(names)
        outs = model.replace_rvs_by_values([model[name] for name in names])
        batch = pt.matrix("theta_batch")
        replace = {
            value_var: batch[:, sl].reshape((batch.shape[0], *shape))
            for value_var, shape, sl in zip(model.value_vars, self.shapes, self.slices, strict=True)
        }
        batched = vectorize_graph(outs, replace=replace)
        # An output that depends on no parameter (a constant Deterministic) has no batch axis.
        lifted = [b.ndim > o.ndim for b, o in zip(batched, outs, strict=True)]
        fn = pm_compile([batch], batched, mode=self.mode, on_unused_input="ignore")

        def variables(thetas) -> dict:
            thetas = np.asarray(thetas, dtype="float64")
            values = fn(thetas)
            return {
                name: np.asarray(v) if up else np.broadcast_to(v, (len(thetas), *np.shape(v)))
                for name, v, up in zip(names, values, lifted, strict=True)
            }

        return variables

    def compile_to_values(self):
        """``f({name: (n, *shape)}) -> X[n, ndim]``: the flat value vectors of the model's
        free variables given on their constrained scale (each through its transform's
        forward map, e.g. ``log`` for a positive one): the inverse of
        :meth:`compile_variables` on the free variables."""
        import pytensor.tensor as pt
        from pymc.pytensorf import compile as pm_compile
        from pytensor.graph.replace import graph_replace, vectorize_graph

        model = self.model
        rvs = list(model.free_RVs)
        core = {rv: rv.type() for rv in rvs}
        outs = []
        for rv in rvs:
            transform = model.rvs_to_transforms.get(rv)
            value = core[rv]
            if transform is not None:
                value = transform.forward(value, *rv.owner.inputs)
            outs.append(value)
        # A transform's parameters may be other free variables (bounds): their given values.
        outs = graph_replace(outs, {rv: core[rv] for rv in rvs}, strict=False)
        given = [pt.tensor(rv.name, dtype=rv.dtype, shape=(None, *rv.type.shape)) for rv in rvs]
        batched = vectorize_graph(outs, replace=dict(zip(core.values(), given, strict=True)))
        fn = pm_compile(given, batched, mode=self.mode, on_unused_input="ignore")

        def values(variables: dict) -> np.ndarray:
            arrays = [np.asarray(variables[rv.name], dtype=rv.dtype) for rv in rvs]
            n = len(arrays[0])
            out = fn(*arrays)
            return np.concatenate([np.reshape(v, (n, -1)) for v in out], axis=1)

        return values

    def warm_compile(self, gradient: bool) -> dict[str, float]:
        """Compile (and call once) the functions most samplers use; return seconds per
        function.

        Run in the ``compile`` rule so that the PyTensor cache sampling jobs read is warm.
        The batched log density (``compile_logp_batched``: ``emcee_vectorized``, the nested
        samplers) is left to the batches that use it, which compile it outside their clock:
        warming it took 7.5 of the default study's 19 core-seconds of compiles (4.8 s for
        gaussian_illcond at d = 16), for samplers the study does not run.
        """
        seconds = {}
        x0 = np.zeros(self.ndim)
        start = perf_counter()
        self.compile_logp()(x0)
        seconds["logp"] = perf_counter() - start
        if gradient:
            start = perf_counter()
            fn = self.model.logp_dlogp_function(ravel_inputs=True, mode=self.mode)
            fn.set_extra_values({})
            fn._pytensor_function(x0)
            seconds["logp_dlogp"] = perf_counter() - start
        return seconds


def build_problem(target: str, dim: int, options: dict | None = None, backend="numba") -> Problem:
    options = dict(options or {})
    module = registry.target(target)
    compile_mode(backend)
    if module.LOG_PROB:  # a log_prob function, no PyMC model (essbench.logprob)
        from essbench.logprob import build

        return build(target, dim, options, backend)
    start = perf_counter()
    model = module.build(dim, options)
    return problem_of(model, target, dim, options, backend, perf_counter() - start)


def problem_of(model, target: str, dim: int, options: dict, backend: str, build_seconds=0.0):
    """The :class:`Problem` of a built PyMC model (a target's, or its ``reference_model``)."""
    point = model.initial_point()
    names, shapes, slices, offset = [], [], [], 0
    for value_var in model.value_vars:
        shape = tuple(np.shape(point[value_var.name]))
        size = int(np.prod(shape, dtype=int))
        names.append(value_var.name)
        shapes.append(shape)
        slices.append(slice(offset, offset + size))
        offset += size
    return Problem(target, dim, options, backend, model, build_seconds, names, shapes, slices)
