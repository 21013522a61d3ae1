"""Discovery of sampler and target modules.

A sampler or target is one module in :mod:`essbench.samplers` or :mod:`essbench.targets`
that defines ``NAME`` (and the other attributes documented in each package's ``__init__``).
Modules whose name starts with ``_`` are helpers and are skipped. Discovery only imports the
modules, which keep their heavy imports (PyMC, emcee, JAX) inside functions, so validating a
config stays fast.
"""

import importlib
import pkgutil
from functools import cache
from types import ModuleType


def _discover(package: str) -> dict[str, ModuleType]:
    pkg = importlib.import_module(package)
    found: dict[str, ModuleType] = {}
    for info in pkgutil.iter_modules(pkg.__path__):
        if info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{package}.{info.name}")
        name = getattr(module, "NAME", None)
        if name is None:
            continue
        if name in found:
            raise RuntimeError(f"two modules in {package} declare NAME={name!r}")
        found[name] = module
    return dict(sorted(found.items()))


@cache
def samplers() -> dict[str, ModuleType]:
    """All sampler modules, by name."""
    return _discover("essbench.samplers")


@cache
def targets() -> dict[str, ModuleType]:
    """All target modules, by name."""
    return _discover("essbench.targets")


def sampler(name: str) -> ModuleType:
    try:
        return samplers()[name]
    except KeyError:
        raise KeyError(f"unknown sampler {name!r}; known: {', '.join(samplers())}") from None


def target(name: str) -> ModuleType:
    try:
        return targets()[name]
    except KeyError:
        raise KeyError(f"unknown target {name!r}; known: {', '.join(targets())}") from None


def compatibility(sampler_module: ModuleType, target_module: ModuleType) -> str:
    """One README table cell: whether (and within what limits) the pair can run."""
    if sampler_module.NEEDS_GRADIENT and not target_module.GRADIENT:
        return "✗ needs gradients"
    lo, hi = target_module.MIN_DIM, target_module.MAX_DIM
    if lo is not None and lo == hi:
        if sampler_module.ENSEMBLE:
            return f"✓ (d = {lo}, ≥ {2 * lo} walkers)"
        return f"✓ (d = {lo})"
    if sampler_module.ENSEMBLE:
        return "✓ (≥ 2d walkers)"
    return "✓"


def compatibility_table() -> str:
    """The sampler × target table of the README (tests/test_registry.py keeps it true)."""
    names = list(targets())
    lines = [
        "| sampler | " + " | ".join(f"`{t}`" for t in names) + " |",
        "|---|" + "---|" * len(names),
    ]
    for name, module in samplers().items():
        if getattr(module, "TEST_ONLY", False):
            continue
        cells = [compatibility(module, targets()[t]) for t in names]
        lines.append(f"| `{name}` | " + " | ".join(cells) + " |")
    return "\n".join(lines)
