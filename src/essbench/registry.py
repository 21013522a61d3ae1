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
