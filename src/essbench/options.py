"""Declared options: every sampler and target option is declared once, here-typed.

A module lists its options as ``OPTIONS = (Option(...), ...)``. From that one declaration
come its defaults, the config check (type, range, choices: one line per bad value, before
any job runs) and the option tables of ``config/README.md`` (``python -m essbench.docs``
writes them; ``tests/test_docs.py`` keeps them equal).
"""

import math
from dataclasses import dataclass

KINDS = {int: "integer", float: "number", str: "string", bool: "boolean"}


@dataclass(frozen=True)
class Option:
    """One option: ``name``, its type (``int``, ``float``, ``str``, ``bool``), ``default``,
    a one-line ``meaning``, and what values are allowed: ``low``/``high`` (inclusive unless
    ``low_open``/``high_open``), ``choices`` for strings, ``nullable`` when ``None`` (unset)
    is allowed."""

    name: str
    kind: type
    default: object
    meaning: str
    low: float | None = None
    high: float | None = None
    low_open: bool = False
    high_open: bool = False
    choices: tuple | None = None
    nullable: bool = False

    def __post_init__(self):
        if self.kind not in KINDS:
            raise TypeError(f"option {self.name}: kind must be one of {list(KINDS)}")
        problem = self.problem(self.default)
        if problem:
            raise ValueError(f"option {self.name}: its default {self.default!r} {problem}")

    def allowed(self, markdown: bool = False) -> str:
        """What values are allowed, in words (for messages; ``markdown`` for the docs)."""
        if self.choices:
            text = "one of " + ", ".join(f"`{c}`" if markdown else str(c) for c in self.choices)
        else:
            text = KINDS[self.kind]
            lo = None if self.low is None else f"{'>' if self.low_open else '≥'} {self.low:g}"
            hi = None if self.high is None else f"{'<' if self.high_open else '≤'} {self.high:g}"
            if lo and hi and self.low_open and self.high_open:
                text += f" in ({self.low:g}, {self.high:g})"
            elif lo or hi:
                text += " " + " and ".join(p for p in (lo, hi) if p)
        return text + (" or null (unset)" if self.nullable else "")

    def need(self) -> str:
        """``allowed()`` as the end of a sentence: "must be an integer ≥ 1"."""
        if self.choices:
            return self.allowed()
        return ("an " if self.kind is int else "a ") + self.allowed()

    def problem(self, value) -> str | None:
        """Why ``value`` is not allowed (a phrase), or None when it is."""
        if value is None:
            return None if self.nullable else f"is not allowed: must be {self.need()}"
        if self.kind is bool:
            ok = isinstance(value, bool)
        elif self.kind is int:
            ok = isinstance(value, int) and not isinstance(value, bool)
        elif self.kind is float:
            ok = isinstance(value, int | float) and not isinstance(value, bool)
            ok = ok and math.isfinite(value)
        else:
            ok = isinstance(value, str)
        if not ok:
            return f"is not {'an' if self.kind is int else 'a'} {KINDS[self.kind]}" + (
                f": must be {self.need()}" if self.kind is not bool else ""
            )
        if self.choices is not None and value not in self.choices:
            return f"is not {self.allowed()}"
        if self.low is not None and (value <= self.low if self.low_open else value < self.low):
            return f"is out of range: must be {self.need()}"
        if self.high is not None and (value >= self.high if self.high_open else value > self.high):
            return f"is out of range: must be {self.need()}"
        return None


def count(name: str, default: int, meaning: str, low: int = 1) -> Option:
    """An integer count, at least ``low`` (1: where zero makes no sense)."""
    return Option(name, int, default, meaning, low=low)


def positive(name: str, default: float, meaning: str) -> Option:
    return Option(name, float, default, meaning, low=0, low_open=True)


def probability(name: str, default: float, meaning: str) -> Option:
    """A probability strictly inside (0, 1)."""
    return Option(name, float, default, meaning, low=0, high=1, low_open=True, high_open=True)


def choice(name: str, default: str, meaning: str, choices) -> Option:
    return Option(name, str, default, meaning, choices=tuple(choices))


def declared(module) -> dict[str, Option]:
    """The module's options by name (``OPTIONS``; none when it declares none)."""
    found: dict[str, Option] = {}
    for option in getattr(module, "OPTIONS", ()):
        if not isinstance(option, Option):
            raise TypeError(f"{option!r} in OPTIONS is not an essbench.options.Option")
        if option.name in found:
            raise ValueError(f"option {option.name!r} is declared twice")
        found[option.name] = option
    return found


def defaults(module) -> dict:
    return {name: option.default for name, option in declared(module).items()}


def check(declared_options: dict[str, Option], values: dict, where: str) -> list[str]:
    """One line per unknown or bad option value, each naming ``where.<option>``."""
    import difflib

    problems = []
    for key, value in (values or {}).items():
        option = declared_options.get(key)
        if option is None:
            close = difflib.get_close_matches(str(key), list(declared_options), n=1, cutoff=0.6)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            known = ", ".join(declared_options) or "none"
            owner = where.rsplit(".", 1)[-1]
            problems.append(
                f"config: {where}.{key}: unknown option{hint}; options of {owner}: {known}"
            )
            continue
        problem = option.problem(value)
        if problem:
            problems.append(f"config: {where}.{key}: {value!r} {problem}")
    return problems
