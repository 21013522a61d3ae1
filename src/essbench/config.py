"""Config checks and expansion of a study into runs.

``validate`` is called by the Snakefile before any job is planned: the JSON schema first
(types, required and unknown keys), then what a schema cannot say (known sampler and target
names, options each sampler accepts, walkers versus dimension, target dimension limits).
Every problem becomes one line naming the key, the bad value and what is allowed.
"""

import copy
import difflib
import hashlib
import inspect
import json
from dataclasses import dataclass
from pathlib import Path

from essbench import registry
from essbench.seeds import derive_seed
from essbench.target_ess import length_option

SCHEMA = Path(__file__).resolve().parents[2] / "workflow" / "schemas" / "config.schema.yaml"


class ConfigError(ValueError):
    """A config that cannot run; ``str()`` is one line per problem."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("\n".join(problems))


def _did_you_mean(name: str, choices) -> str:
    close = difflib.get_close_matches(str(name), list(choices), n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _key_path(path) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "<top level>"


def load_schema(path: Path = SCHEMA) -> dict:
    import yaml

    with open(path) as fh:
        return yaml.safe_load(fh)


def _schema_problems(config: dict, schema: dict) -> list[str]:
    import jsonschema

    validator = jsonschema.Draft202012Validator(schema)
    problems = []
    for error in sorted(validator.iter_errors(config), key=lambda e: list(e.absolute_path)):
        where = _key_path(error.absolute_path)
        if error.validator == "additionalProperties":
            allowed = list(error.schema.get("properties", {}))
            extra = [k for k in error.instance if k not in allowed]
            for key in extra:
                problems.append(
                    f"config: unknown key {_key_path([*error.absolute_path, key])!r}"
                    f"{_did_you_mean(key, allowed)}; allowed keys: {', '.join(allowed)}"
                )
        elif error.validator == "required":
            problems.append(f"config: {error.message} (in {where})")
        else:
            problems.append(f"config: {where}: {error.message}")
    return problems


def _apply_defaults(config: dict, schema: dict) -> dict:
    out = copy.deepcopy(config)
    for key, spec in schema.get("properties", {}).items():
        if key not in out and "default" in spec:
            out[key] = copy.deepcopy(spec["default"])
    for section in ("targets", "samplers"):
        out[section] = {name: dict(opts or {}) for name, opts in out[section].items()}
    if out.get("target_ess"):
        defaults = schema["properties"]["target_ess"]["properties"]
        for key, spec in defaults.items():
            if "default" in spec:
                out["target_ess"].setdefault(key, spec["default"])
    return out


def _semantic_problems(config: dict) -> list[str]:
    problems = []
    known_samplers, known_targets = registry.samplers(), registry.targets()
    for name in config["targets"]:
        if name not in known_targets:
            problems.append(
                f"config: targets.{name}: unknown target{_did_you_mean(name, known_targets)};"
                f" known targets: {', '.join(known_targets)}"
            )
    for name, options in config["samplers"].items():
        if name not in known_samplers:
            problems.append(
                f"config: samplers.{name}: unknown sampler{_did_you_mean(name, known_samplers)};"
                f" known samplers: {', '.join(known_samplers)}"
            )
            continue
        module = known_samplers[name]
        for key, value in options.items():
            if key not in module.DEFAULTS:
                problems.append(
                    f"config: samplers.{name}.{key}: unknown option"
                    f"{_did_you_mean(key, module.DEFAULTS)}; options of {name}:"
                    f" {', '.join(module.DEFAULTS)}"
                )
            elif isinstance(module.DEFAULTS[key], str):
                choices = getattr(module, "CHOICES", {}).get(key)
                if not isinstance(value, str) or (choices and value not in choices):
                    problems.append(
                        f"config: samplers.{name}.{key}: {value!r} is not one of"
                        f" {', '.join(choices or ['a string'])}"
                    )
            elif value is not None and not isinstance(value, int | float) or value is True:
                problems.append(f"config: samplers.{name}.{key}: {value!r} is not a number")
            elif value is not None and value < 0:
                problems.append(f"config: samplers.{name}.{key}: {value!r} must not be negative")
        if problems:
            continue
        merged = sampler_options(config, name)
        for key in ("draws", "steps", "chains"):
            if key in merged and not (isinstance(merged[key], int) and merged[key] >= 1):
                problems.append(
                    f"config: samplers.{name}.{key}: {merged[key]!r} must be an integer >= 1"
                )
        if config.get("target_ess"):
            key = length_option(module)
            if key not in merged:
                problems.append(
                    f"config: samplers.{name}: cannot run in time-to-target-ESS mode (it has"
                    f" no {key!r} option); remove it or remove target_ess"
                )
        if module.ENSEMBLE:
            all_dims = sorted({d for t in config["targets"] for d in target_dims(config, t)})
            for dim in all_dims:
                n = module.walkers(dim, merged)
                if n < 2 * dim:
                    problems.append(
                        f"config: samplers.{name}.nwalkers: {n} walkers is fewer than 2 x dim"
                        f" = {2 * dim} needed at dim {dim}; raise nwalkers or leave it unset"
                        " (then walkers_per_dim decides)"
                    )
        for target in config["targets"]:
            target_module = known_targets.get(target)
            if module.NEEDS_GRADIENT and target_module and not target_module.GRADIENT:
                problems.append(
                    f"config: samplers.{name}: needs gradients but target {target} has none;"
                    " remove one of them"
                )
    for name in config["targets"]:
        module = known_targets.get(name)
        if module is None:
            continue
        allowed = [p for p in inspect.signature(module.build_model).parameters if p != "dim"]
        for key in target_options(config, name):
            if key not in allowed:
                problems.append(
                    f"config: targets.{name}.{key}: unknown option"
                    f"{_did_you_mean(key, allowed)}; options of {name}:"
                    f" {', '.join(allowed + ['dims'])}"
                )
        own = "dims" in config["targets"][name]
        for dim in target_dims(config, name):
            lo, hi = module.MIN_DIM, module.MAX_DIM
            if (lo is not None and dim < lo) or (hi is not None and dim > hi):
                key = f"targets.{name}.dims" if own else "dims"
                problems.append(
                    f"config: {key}: {dim} is not supported by target {name}"
                    f" (allowed: {lo} to {hi if hi is not None else 'any'});"
                    f" give it its own dims: targets: {{{name}: {{dims: [...]}}}}"
                )
    target, budget = config.get("target_ess"), config.get("run_budget_seconds")
    if target and budget and budget < target["budget_seconds"]:
        problems.append(
            f"config: run_budget_seconds: {budget:g} is less than target_ess.budget_seconds"
            f" = {target['budget_seconds']:g}, so runs would fail before they are censored;"
            " raise run_budget_seconds or lower target_ess.budget_seconds"
        )
    published = config.get("published")
    if published:
        for name in published["ms_per_ess"]:
            if name not in config["samplers"]:
                problems.append(
                    f"config: published.ms_per_ess.{name}: not a sampler of this study"
                    f"{_did_you_mean(name, config['samplers'])}"
                )
        if published["target"] not in config["targets"]:
            problems.append(f"config: published.target: {published['target']!r} is not run")
        if published["dim"] not in config["dims"]:
            problems.append(f"config: published.dim: {published['dim']} is not in dims")
    return problems


def validate(config: dict, schema: dict | None = None) -> dict:
    """Return the config with defaults filled in, or raise :class:`ConfigError`."""
    if not isinstance(config, dict) or not config:
        raise ConfigError(["config: empty or not a mapping; see config/README.md"])
    schema = schema or load_schema()
    problems = _schema_problems(config, schema)
    if problems:
        raise ConfigError(problems)
    full = _apply_defaults(config, schema)
    problems = _semantic_problems(full)
    if problems:
        raise ConfigError(problems)
    return full


def sampler_options(config: dict, sampler: str) -> dict:
    module = registry.sampler(sampler)
    merged = dict(module.DEFAULTS)
    merged.update({k: v for k, v in (config["samplers"][sampler] or {}).items()})
    return merged


def target_options(config: dict, target: str) -> dict:
    """Options passed to the target module (its ``dims`` override is the study's business)."""
    return {k: v for k, v in (config["targets"][target] or {}).items() if k != "dims"}


def target_dims(config: dict, target: str) -> list[int]:
    """The target's own ``dims`` when it sets them, else the study's."""
    return list((config["targets"][target] or {}).get("dims") or config["dims"])


@dataclass(frozen=True)
class Run:
    sampler: str
    target: str
    dim: int
    seed: int

    @property
    def key(self) -> str:
        return f"{self.target}/d{self.dim}/{self.sampler}/s{self.seed}"


def runs(config: dict) -> list[Run]:
    """Every (sampler, target, dim, seed) of the study, in a stable order."""
    return [
        Run(sampler, target, int(dim), int(seed))
        for target in config["targets"]
        for dim in target_dims(config, target)
        for sampler in config["samplers"]
        for seed in config["seeds"]
    ]


@dataclass(frozen=True)
class Batch:
    """Runs of one (sampler, target, dim) that share one process: consecutive seeds."""

    sampler: str
    target: str
    dim: int
    seeds: tuple[int, ...]

    @property
    def label(self) -> str:
        first, last = self.seeds[0], self.seeds[-1]
        return f"s{first}" if len(self.seeds) == 1 else f"s{first}-{last}"

    @property
    def key(self) -> str:
        return f"{self.target}/d{self.dim}/{self.sampler}/{self.label}"

    @property
    def runs(self) -> list[Run]:
        return [Run(self.sampler, self.target, self.dim, s) for s in self.seeds]


def batches(config: dict) -> list[Batch]:
    """The study's runs cut into jobs: per (sampler, target, dim), the sorted seeds in
    chunks of ``runs_per_job``. Adding a seed past the last one adds (or grows) only the
    last chunk, and a chunk's finished runs are kept whatever chunk they end up in."""
    size = int(config.get("runs_per_job") or 1)
    seeds = sorted(int(s) for s in config["seeds"])
    chunks = [tuple(seeds[i : i + size]) for i in range(0, len(seeds), size)]
    return [
        Batch(sampler, target, int(dim), chunk)
        for target in config["targets"]
        for dim in target_dims(config, target)
        for sampler in config["samplers"]
        for chunk in chunks
    ]


def options_key(options: dict) -> str:
    """A short name for a target's options: shared outputs (compiled models, reference
    moments) are keyed by it, so two studies that agree on a target share them."""
    blob = json.dumps(options or {}, sort_keys=True, default=str).encode()
    return "o" + hashlib.sha256(blob).hexdigest()[:10]


def target_options_by_key(config: dict, target: str, key: str) -> dict:
    options = target_options(config, target)
    if options_key(options) != key:
        raise KeyError(
            f"target {target} of this study has options {options_key(options)}, not {key}"
        )
    return options


def run_settings(config: dict, sampler: str, target: str, dim: int, seed: int) -> dict:
    """Everything that determines one run's result (its hash goes into the result row)."""
    return {
        "sampler": sampler,
        "sampler_options": sampler_options(config, sampler),
        "target": target,
        "target_options": target_options(config, target),
        "dim": int(dim),
        "seed": int(seed),
        "run_seed": derive_seed(config["study_seed"], sampler, target, dim, seed),
        "backend": config["backend"],
        "target_ess": config.get("target_ess"),
    }


def settings_hash(settings: dict) -> str:
    blob = json.dumps(settings, sort_keys=True, default=str).encode()
    return hashlib.sha256(blob).hexdigest()[:16]
