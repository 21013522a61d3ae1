"""Discovery of sampler and target modules, shipped or brought by the user.

A sampler or target is one module that declares everything about itself (see the
``essbench.samplers`` and ``essbench.targets`` package docstrings): shipped ones live in
those packages (modules whose name starts with ``_`` are helpers and are skipped); a
config may name others defined in any Python file (``targets: {my_model: {file:
models/my_model.py}}``), registered by :func:`register_config`. Discovery only imports the
modules, which keep their heavy imports (PyMC, emcee, JAX) inside functions, so validating a
config stays fast.

What the rest of the code needs to know about a sampler or target comes from here, as a
:class:`Plugin`: its declared options and defaults, its conda env, its packages, its
colour; a module that leaves an optional declaration out gets the one shared rule for it.
"""

import dataclasses
import hashlib
import importlib
import importlib.util
import inspect
import pkgutil
import sys
from functools import cache
from pathlib import Path
from types import ModuleType

from essbench import options as opts

REPO = Path(__file__).resolve().parents[2]
SAMPLER_REQUIRED = ("DESCRIPTION", "NEEDS_GRADIENT", "ENSEMBLE", "run")
# The PyTensor backends a model may be compiled with: the study's (``backend``: numba or c),
# or the one a sampler always uses (nutpie: numba; NumPyro and BlackJAX: jax).
PYTENSOR_BACKENDS = ("numba", "c", "jax")
TARGET_REQUIRED = ("build_model",)


class PluginError(ValueError):
    """A sampler or target module that cannot be used; ``str()`` says what to fix."""


class Plugin:
    """One sampler or target under its config name: the module's declarations, with the
    shared rule for every optional one. A module's declared variant (``VARIANTS``) is the
    same module under another name with other defaults (and description, colour)."""

    def __init__(
        self,
        kind: str,
        name: str,
        module: ModuleType,
        variant: dict | None = None,
        file: str | None = None,
    ):
        self.kind, self.NAME, self.module, self.file = kind, name, module, file
        # Read once: the hash keys every run's settings and the shared outputs.
        self._sha256 = hashlib.sha256(Path(file).read_bytes()).hexdigest() if file else None
        variant = variant or {}
        declared = opts.declared(module)
        for key, value in variant.get("defaults", {}).items():
            if key not in declared:
                raise PluginError(f"{kind} {name}: variant default {key!r} is not an option")
            declared[key] = dataclasses.replace(declared[key], default=value)
        self.OPTIONS = declared
        self.DEFAULTS = {key: option.default for key, option in declared.items()}
        self.DESCRIPTION = variant.get("description", getattr(module, "DESCRIPTION", ""))
        self.COLOR = variant.get("color", getattr(module, "COLOR", None))
        self.MARKER = variant.get("marker", getattr(module, "MARKER", "o"))

    def __getattr__(self, attr):
        # Only called for what the instance lacks: the module's own declarations, then the
        # shared rules for optional ones.
        module = self.__dict__["module"]
        if hasattr(module, attr):
            return getattr(module, attr)
        shared = _SHARED[self.__dict__["kind"]]
        if attr in shared:
            return shared[attr](self)
        raise AttributeError(f"{self.kind} {self.NAME} declares no {attr}")

    def __repr__(self):
        return f"<{self.kind} {self.NAME} from {self.file or self.module.__name__}>"

    def threads(self, options: dict) -> int:
        """Cores one run keeps busy: the module's ``threads``, else the shared rule
        (``min(chains, cores)`` for samplers with a ``cores`` option, else 1)."""
        own = getattr(self.module, "threads", None)
        if own is not None:
            return int(own(options))
        if "cores" in self.OPTIONS and "chains" in self.OPTIONS:
            return max(1, min(int(options["chains"]), int(options["cores"])))
        return 1

    def unsupported(self, target) -> str | None:
        """Why this sampler cannot run on ``target`` (a short phrase), or None: the rules
        shared by all (gradients; a backend of its own that the target's ops do not compile
        with), then the module's own ``unsupported(target)`` if it has one."""
        log_prob = getattr(target, "LOG_PROB", False)  # (a test's stand-in may leave it out)
        if log_prob and not self.RUNS_LOG_PROB:
            model = "a Stan program" if self.STAN_MODEL else "a PyMC model (build_model)"
            return f"needs {model}; the target is a log_prob function"
        if self.NEEDS_GRADIENT and not target.GRADIENT:
            return logprob().NEEDS_JAX if log_prob else "needs gradients"
        # A log_prob function is no PyTensor graph: the sampler's backend does not apply.
        compiled = not log_prob and self.BACKEND is not None
        if compiled and self.BACKEND not in target.BACKENDS:
            return (
                f"it compiles with PyTensor's {self.BACKEND} backend; the target's ops compile"
                f" with {', '.join(target.BACKENDS)} only"
            )
        own = getattr(self.module, "unsupported", None)
        return own(target) if own is not None else None

    def file_sha256(self) -> str | None:
        """The hash of the user's file the plugin was loaded from (None when shipped)."""
        return self._sha256

    def _dim_parameter(self, function=None):
        """build_model's (or ``function``'s) parameter that takes the dimension (None: it
        takes none, a model of fixed size): one named ``dim``, else its first positional one
        that is no option."""
        params = inspect.signature(function or self.module.build_model).parameters
        if "dim" in params:
            return params["dim"]
        positional = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
        for param in params.values():
            if param.kind in positional and param.name not in self.OPTIONS:
                return param
        return None

    def dim_required(self) -> bool:
        """Whether ``build_model`` cannot be called without a dimension."""
        param = self._dim_parameter()
        return param is not None and param.default is inspect.Parameter.empty

    def build(self, dim: int, options: dict):
        """The target's model at ``dim``: ``build_model(dim, **options)``, or
        ``build_model(**options)`` when it takes no dimension (a model of fixed size)."""
        if self._dim_parameter() is None:
            return self.module.build_model(**options)
        return self.module.build_model(dim, **options)

    def build_reference(self, dim: int, options: dict):
        """The target's ``reference_model`` at ``dim`` (an equivalent reparameterization that
        the reference rule samples instead of the model), called as ``build_model`` is:
        ``reference_model(dim, **options)``, or ``reference_model(**options)`` when it takes
        no dimension. None: the target defines none."""
        function = getattr(self.module, "reference_model", None)
        if function is None:
            return None
        if self._dim_parameter(function) is None:
            return function(**options)
        return function(dim, **options)


def logprob():
    """:mod:`essbench.logprob`, imported on first use (it imports NumPy)."""
    from essbench import logprob as module

    return module


def _length_option(p: Plugin):
    name = "steps" if p.ENSEMBLE else "draws"
    return name if name in p.OPTIONS else None


def _warmup_option(p: Plugin):
    name = "burn" if p.ENSEMBLE else "tune"
    return name if name in p.OPTIONS else None


_SHARED = {
    "sampler": {
        "ENV": lambda p: "sampling",
        "PACKAGES": lambda p: (),
        "LENGTH_OPTION": _length_option,
        "WARMUP_OPTION": _warmup_option,
        # What LENGTH_OPTION counts, in the words of a censored run's reason ("a run of 4000
        # draws per chain would take about 90 s").
        "LENGTH_UNIT": lambda p: "steps per walker" if p.ENSEMBLE else "draws per chain",
        "TEXTBOOK_ALPHA": lambda p: None,
        "TEST_ONLY": lambda p: False,
        # An oracle (the exact sampler) is a reference for the flags, not a contender: it
        # is left out of every cost figure and table.
        "ORACLE": lambda p: False,
        # True: a study skips the targets this sampler cannot run on instead of refusing them.
        "SKIP_UNSUPPORTED": lambda p: False,
        # True: it runs the target's Stan program, which the workflow compiles first (rule
        # compile_stan).
        "STAN_MODEL": lambda p: False,
        "QUICK_OPTIONS": lambda p: {"cores": 1} if "cores" in p.OPTIONS else {},
        # The smallest dimension it can run at (the config check refuses smaller ones).
        "MIN_DIM": lambda p: None,
        # A throw-away run before a model's first timed run in a batch (clock.prime): None
        # cuts the warm-up and length options to clock.PRIME_LENGTH; a dict sets those
        # options instead; False: none (every run pays its own, as pm.sample's samplers do).
        "PRIME_OPTIONS": lambda p: None,
        # The PyTensor backend it compiles the model with; None: the study's ``backend``.
        "BACKEND": lambda p: None,
        # True: it runs a target given as a log_prob function (essbench.logprob) through
        # the problem's compile_logp / compile_logp_batched / JAX log density.
        "RUNS_LOG_PROB": lambda p: False,
        # True: it runs models with discrete free variables (pm.DiscreteUniform, ...). No
        # shipped sampler does: each moves in the flat continuous vector of essbench.problem.
        "DISCRETE": lambda p: False,
    },
    "target": {
        # A target given as a log_prob function (essbench.logprob) instead of build_model.
        "LOG_PROB": lambda p: logprob().is_log_prob(p.module),
        # A JAX log_prob needs the jax env in every rule that evaluates it.
        "ENV": lambda p: "jax" if p.LOG_PROB and p.GRADIENT else "sampling",
        "PACKAGES": lambda p: (),
        # A log_prob function has one when it is traced and differentiated by JAX.
        "GRADIENT": lambda p: logprob().gradient(p.module) if p.LOG_PROB else True,
        "MIN_DIM": lambda p: logprob().ndim(p.module) if p.LOG_PROB else None,
        "MAX_DIM": lambda p: logprob().ndim(p.module) if p.LOG_PROB else None,
        "TRUTH": lambda p: "analytic" if hasattr(p.module, "truth") else "reference",
        # The PyTensor backends its model compiles with (an op without C code: no "c").
        "BACKENDS": lambda p: PYTENSOR_BACKENDS,
        # The reference rule's NUTS run for a target without closed-form moments.
        "REFERENCE_NUTS": lambda p: {
            "chains": 4,
            "tune": 1000,
            "draws": 10_000,
            "target_accept": 0.9,
        },
        # Minutes the reference rule asks a cluster for (SLURM's runtime): one long job.
        "REFERENCE_MINUTES": lambda p: 120,
        # Nested samplers' prior (essbench.nested): none declared, none run.
        # (a log_prob file: "transform", its own prior_transform, where it has one.)
        "PRIOR": lambda p: (
            "transform" if p.LOG_PROB and not logprob().prior_missing(p.module) else None
        ),
        # Why a target without PRIOR has none (an improper prior, ...); None: not said.
        "PRIOR_MISSING": lambda p: logprob().prior_missing(p.module) if p.LOG_PROB else None,
        "PRIOR_ICDF": lambda p: {},
        # log of the integral of exp(model log density) over the value space (0: a
        # normalised density); None: unknown.
        "LOG_NORMALISER": lambda p: None,
        # How many modes the posterior has in the value space, where that is known (the
        # decision table's geometry); None: not known, which the table says.
        "MODES": lambda p: None,
    },
}


def _plugins(kind: str, name: str, module: ModuleType, file=None) -> dict[str, Plugin]:
    found = {name: Plugin(kind, name, module, file=file)}
    for variant, spec in getattr(module, "VARIANTS", {}).items():
        found[variant] = Plugin(kind, variant, module, spec, file=file)
    return found


def _discover(package: str, kind: str) -> dict[str, Plugin]:
    pkg = importlib.import_module(package)
    found: dict[str, Plugin] = {}
    for info in pkgutil.iter_modules(pkg.__path__):
        if info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{package}.{info.name}")
        name = getattr(module, "NAME", None)
        if name is None:
            continue
        for key, plugin in _plugins(kind, name, module).items():
            if key in found:
                raise RuntimeError(f"two modules in {package} declare the {kind} {key!r}")
            found[key] = plugin
    return found


@cache
def _shipped(kind: str) -> dict[str, Plugin]:
    return _discover(f"essbench.{kind}s", kind)


def _shipped_sorted(kind: str) -> dict[str, Plugin]:
    return dict(sorted(_shipped(kind).items()))


_USER: dict[str, dict[str, Plugin]] = {"sampler": {}, "target": {}}


def samplers() -> dict[str, Plugin]:
    """All sampler plugins (shipped and registered), by name."""
    return dict(sorted({**_shipped("sampler"), **_USER["sampler"]}.items()))


def targets() -> dict[str, Plugin]:
    """All target plugins (shipped and registered), by name."""
    return dict(sorted({**_shipped("target"), **_USER["target"]}.items()))


def sampler(name: str) -> Plugin:
    try:
        return samplers()[name]
    except KeyError:
        raise KeyError(f"unknown sampler {name!r}; known: {', '.join(samplers())}") from None


def target(name: str) -> Plugin:
    try:
        return targets()[name]
    except KeyError:
        raise KeyError(f"unknown target {name!r}; known: {', '.join(targets())}") from None


def find_sampler(name: str) -> Plugin | None:
    """The sampler's plugin, or None for a name no longer registered (an old table's)."""
    return samplers().get(name)


def load_file(kind: str, name: str, path) -> Plugin:
    """Import the ``kind`` module in ``path`` and register it as ``name``.

    Raises :class:`PluginError` (one line naming the file and what is wrong) for a missing
    file, an import error, a missing declaration or a bad option declaration.
    """
    given = Path(path)
    where = f"{kind}s.{name}: {given}"
    if name in _shipped(kind):
        raise PluginError(f"config: {where}: {name!r} is a shipped {kind}; pick another name")
    # Relative to the working directory, else to the essbench checkout (examples/...).
    found = [p for p in (given, REPO / given) if p.is_file()]
    if not found:
        tried = given if given.is_absolute() else f"{given.absolute()} or {REPO / given}"
        raise PluginError(f"config: {where}: no such file (looked for {tried})")
    path = found[0].resolve()
    module_name = f"essbench_user_{kind}_{name}"
    spec = importlib.util.spec_from_file_location(module_name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    try:
        spec.loader.exec_module(module)
    except Exception as exc:  # the user's file: any error is theirs to fix
        del sys.modules[module_name]
        raise PluginError(
            f"config: {where}: importing it raised {type(exc).__name__}: {exc}".splitlines()[0]
        ) from exc
    required = SAMPLER_REQUIRED if kind == "sampler" else TARGET_REQUIRED
    if kind == "target" and logprob().is_log_prob(module):  # the emcee user's model
        required = logprob().REQUIRED
        wrong = logprob().declaration_problem(module)
        if wrong:
            raise PluginError(f"config: {where}: {wrong}")
    missing = [attr for attr in required if not hasattr(module, attr)]
    if missing:
        raise PluginError(
            f"config: {where}: defines no {', '.join(missing)} (a {kind} module must define"
            f" {', '.join(required)}{' or log_prob' if kind == 'target' else ''}; see the README,"
            " 'Benchmark your own model')"
        )
    declared = getattr(module, "NAME", name)
    if declared != name:
        raise PluginError(f"config: {where}: declares NAME = {declared!r}, not {name!r}")
    try:
        plugins = _plugins(kind, name, module, file=str(path))
    except (TypeError, ValueError) as exc:
        raise PluginError(f"config: {where}: bad OPTIONS: {exc}") from exc
    _USER[kind].update(plugins)
    return plugins[name]


def register_config(config: dict) -> list[str]:
    """Register every ``file:`` sampler and target the config names; one line per problem."""
    problems = []
    for kind in ("sampler", "target"):
        for name, entry in (config.get(f"{kind}s") or {}).items():
            if isinstance(entry, dict) and entry.get("file"):
                try:
                    load_file(kind, name, entry["file"])
                except PluginError as err:
                    problems.append(str(err))
    return problems


def sampler_packages() -> tuple[str, ...]:
    """Every package a sampler or target declares (their versions go into provenance)."""
    names: list[str] = []
    for plugin in [*samplers().values(), *targets().values()]:
        for package in plugin.PACKAGES:
            if package not in names:
                names.append(package)
    return tuple(names)


def compatibility(sampler_module, target_module) -> str:
    """One README table cell: whether (and within what limits) the pair can run."""
    why = sampler_module.unsupported(target_module)
    if why:
        return f"✗ {why}"
    lo, hi = target_module.MIN_DIM, target_module.MAX_DIM
    if lo is not None and lo == hi:
        if sampler_module.ENSEMBLE:
            return f"✓ (d = {lo}, ≥ {2 * lo} walkers)"
        return f"✓ (d = {lo})"
    if sampler_module.ENSEMBLE:
        return "✓ (≥ 2d walkers)"
    low = sampler_module.MIN_DIM
    if low is not None and (lo is None or lo < low):
        return f"✓ (d ≥ {low})"
    return "✓"


def compatibility_table() -> str:
    """The sampler × target table of the README (tests/test_docs.py keeps it true)."""
    names = list(_shipped_sorted("target"))
    lines = [
        "| sampler | " + " | ".join(f"`{t}`" for t in names) + " |",
        "|---|" + "---|" * len(names),
    ]
    for name, plugin in _shipped_sorted("sampler").items():
        if plugin.TEST_ONLY:
            continue
        cells = [compatibility(plugin, _shipped("target")[t]) for t in names]
        lines.append(f"| `{name}` | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def forget_user() -> None:
    """Drop every registered user file (tests)."""
    for kind in _USER:
        _USER[kind].clear()
