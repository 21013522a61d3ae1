"""Config checks and expansion of a study into runs.

``validate`` is called by the Snakefile before any job is planned: the JSON schema first
(types, required and unknown keys), then what a schema cannot say (known sampler and target
names, options each sampler accepts, walkers versus dimension, target dimension limits).
Every problem becomes one line naming the key, the bad value and what is allowed.
"""

import copy
import difflib
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

from essbench import options as opts
from essbench import registry
from essbench.messages import said
from essbench.problem import BACKEND_MODES
from essbench.seeds import derive_seed

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
        elif (
            error.validator == "type"
            and error.validator_value == "boolean"
            and str(error.instance).lower() in ("true", "false")
        ):  # snakemake --config keep_draws=true passes the string 'true'
            problems.append(
                f"config: {where}: {error.message} (on the command line write"
                f" --config {where}={str(error.instance).capitalize()}, a Python boolean)"
            )
        elif error.validator == "anyOf":
            problems.append(
                f"config: {where}: {error.instance!r} is not allowed; write"
                f" {_alternatives(error.validator_value)}"
                + (
                    f" (on the command line --config {where}={str(error.instance).capitalize()}"
                    " passes a Python boolean)"
                    if str(error.instance).lower() in ("true", "false")
                    else ""
                )
            )
        else:
            problems.append(f"config: {where}: {error.message}")
    return problems


def _alternatives(schemas: list[dict]) -> str:
    """What an ``anyOf`` allows, in words: ``true or false, or 'auto'``."""
    words = []
    for sub in schemas:
        if sub.get("type") == "boolean":
            words.append("true or false")
        elif "enum" in sub:
            words.append(" or ".join(repr(v) for v in sub["enum"]))
        else:
            words.append(str(sub.get("type", sub)))
    return ", or ".join(words)


def _apply_defaults(config: dict, schema: dict) -> dict:
    out = copy.deepcopy(config)
    for key, spec in schema.get("properties", {}).items():
        if key not in out and "default" in spec:
            out[key] = copy.deepcopy(spec["default"])
    for section in ("targets", "samplers"):
        out[section] = {name: dict(opts or {}) for name, opts in out[section].items()}
    if out.get("ess_goal"):
        defaults = schema["properties"]["ess_goal"]["properties"]
        for key, spec in defaults.items():
            if "default" in spec:
                out["ess_goal"].setdefault(key, spec["default"])
    return out


def _sampler_problems(config: dict, name: str, plugin) -> list[str]:
    where = f"samplers.{name}"
    own = {k: v for k, v in (config["samplers"][name] or {}).items() if k != "file"}
    problems = opts.check(plugin.OPTIONS, own, where)
    if problems:
        return problems
    merged = sampler_options(config, name)
    if config.get("ess_goal") and plugin.LENGTH_OPTION not in merged:
        problems.append(
            f"config: {where}: cannot run in ESS-goal mode (it declares no length"
            " option, LENGTH_OPTION); remove it or remove ess_goal"
        )
    if plugin.ENSEMBLE:
        all_dims = sorted({d for t in config["targets"] for d in target_dims(config, t)})
        for dim in all_dims:
            n = plugin.walkers(dim, merged)
            if n < 2 * dim:
                problems.append(
                    f"config: {where}.nwalkers: {n} walkers is fewer than 2 x dim"
                    f" = {2 * dim} needed at dim {dim}; raise nwalkers or leave it unset"
                    " (then walkers_per_dim decides)"
                )
    for target in config["targets"]:
        low = plugin.MIN_DIM
        small = [d for d in target_dims(config, target) if low is not None and d < low]
        if small:
            problems.append(
                f"config: {where}: runs at dim {low} or more, not {small} (target {target});"
                f" give {target} its own dims: targets: {{{target}: {{dims: [...]}}}}"
            )
        target_plugin = registry.targets().get(target)
        why = target_plugin and plugin.unsupported(target_plugin)
        if why and plugin.SKIP_UNSUPPORTED:
            continue  # the study leaves the pair out (see runs())
        if why == "needs gradients":
            problems.append(
                f"config: {where}: needs gradients but target {target} has none; remove one of them"
            )
        elif why:
            problems.append(
                f"config: {where}: cannot run on target {target} ({why}); remove one of them"
            )
    return problems


def _target_problems(config: dict, name: str, plugin) -> list[str]:
    own = {k: v for k, v in (config["targets"][name] or {}).items() if k not in STUDY_KEYS}
    problems = opts.check(plugin.OPTIONS, own, f"targets.{name}")
    if not problems:
        problems += _reference_draws_problems(config, name, plugin)
    if config["backend"] not in plugin.BACKENDS:
        # Every target is compiled with the study's backend (the compile rule), whatever
        # its samplers use.
        usable = [b for b in plugin.BACKENDS if b in BACKEND_MODES]
        fix = f"set backend: {' or '.join(usable)}, or " if usable else ""
        problems.append(
            f"config: backend: {config['backend']} cannot compile the ops of target {name}"
            f" (they compile with {', '.join(plugin.BACKENDS)} only); {fix}remove the target"
        )
    given = "dims" in (config["targets"][name] or {})
    for dim in target_dims(config, name):
        lo, hi = plugin.MIN_DIM, plugin.MAX_DIM
        if (lo is not None and dim < lo) or (hi is not None and dim > hi):
            key = f"targets.{name}.dims" if given else "dims"
            problems.append(
                f"config: {key}: {dim} is not supported by target {name}"
                f" (allowed: {lo} to {hi if hi is not None else 'any'});"
                f" give it its own dims: targets: {{{name}: {{dims: [...]}}}}"
            )
    if not plugin.file and not target_dims(config, name):
        problems.append(
            f"config: targets.{name}: no dims (the target scales with its dimension); give"
            f" the study's dims: [...] or its own: targets: {{{name}: {{dims: [...]}}}}"
        )
    if problems or not plugin.file:
        return problems
    shown = config["targets"][name]["file"]  # the path as the config gives it
    if plugin.LOG_PROB:  # a log_prob function, not a PyMC model: its own check
        from essbench import logprob

        return logprob.config_problems(plugin, f"config: targets.{name}: {shown}")
    # A user's model: build it now, so a broken file fails here, not inside a job.
    if plugin.TRUTH == "reference" and not plugin.GRADIENT:
        problems.append(
            f"config: targets.{name}: {shown}: defines no truth() and no gradient, so no"
            " reference moments can be computed (the reference rule runs NUTS); define truth()"
        )
    dims = target_dims(config, name)
    if not dims and not _stated_dims(config, name) and plugin.dim_required():
        param = plugin._dim_parameter().name
        problems.append(
            f"config: targets.{name}: {shown}: no dims: its build_model takes a dimension"
            f" ({param!r}); give dims: targets: {{{name}: {{dims: [...]}}}}, or, for a model"
            f" of fixed size, let build_model take no {param} (essbench counts its parameters)"
        )
        return problems
    for dim in dims or [None]:
        model, problem = _built(plugin, name, shown, dim, target_options(config, name))
        if problem:
            problems.append(problem)
            break
        problems += _discrete_problems(config, name, shown, model)
        size = _free_size(model)
        if plugin.TRUTH == "reference":
            options = target_options(config, name)
            problems += _reference_model_problems(plugin, name, shown, dim, size, options, model)
        if dim is not None and size != dim:
            if _stated_dims(config, name):
                key = f"targets.{name}.dims" if _own_dims(config, name) else "dims"
                stated = f"{key}: {dim}"
            else:
                stated = f"targets.{name}: {shown}: MIN_DIM = MAX_DIM = {dim}"
            problems.append(
                f"config: {stated} is not the size of target {name} ({shown}: its model has"
                f" {size} free parameters); a dimension counts free parameters: state {size},"
                " or none at all for a model of fixed size (essbench counts them)"
            )
        if problems:
            break
    return problems


_DRAWS_CHECKED: dict = {}


def _reference_draws_problems(config: dict, name: str, plugin) -> list[str]:
    """One line if the target's ``reference_draws`` cannot serve the reference rule: a target
    whose truth is not computed by it, a missing or unreadable file, or one that lacks a free
    variable of the model, gives it another shape, or holds a non-finite value
    (:mod:`essbench.reference_draws`)."""
    from essbench import reference_draws

    given = (config["targets"][name] or {}).get("reference_draws")
    if not given:
        return []
    where = f"config: targets.{name}.reference_draws: {given}"
    if plugin.TRUTH != "reference":
        return [
            f"{where}: the truth of target {name} is {plugin.TRUTH}, which reference draws do"
            " not replace (they serve targets whose truth the reference rule computes);"
            " remove the key"
        ]
    if plugin.LOG_PROB:
        return [
            f"{where}: target {name} is a log_prob function; reference draws serve PyMC"
            " models (build_model) only: remove the key, or define truth() in the file"
        ]
    path = reference_draws.resolve(given, registry.REPO)
    if path is None:
        tried = Path(given).absolute()
        tried = given if Path(given).is_absolute() else f"{tried} or {registry.REPO / given}"
        return [f"{where}: no such file (looked for {tried})"]
    dims = target_dims(config, name)
    if len(dims) > 1:
        return [
            f"{where}: one file holds draws at one dimension, and target {name} runs at"
            f" {dims}; give the target one dim (or its own entry per dimension)"
        ]
    options = target_options(config, name)
    try:
        model = plugin.build(dims[0], options) if dims else plugin.module.build_model(**options)
    except Exception:  # the model's own check says what is wrong
        return []
    names = [rv.name for rv in model.free_RVs]
    shapes = _variable_shapes(model, names)
    stat = path.stat()
    key = (str(path), stat.st_mtime_ns, stat.st_size, json.dumps(shapes, sort_keys=True))
    if key not in _DRAWS_CHECKED:
        try:
            reference_draws.load(path, shapes)
            _DRAWS_CHECKED[key] = None
        except reference_draws.DrawsError as err:
            _DRAWS_CHECKED[key] = str(err)
    if _DRAWS_CHECKED[key]:
        return [f"{where}: {_DRAWS_CHECKED[key]}"]
    return []


def _built(plugin, name: str, shown: str, dim: int | None, options: dict):
    """(model, None) or (None, one line): the user's model at ``dim`` (None: with
    build_model's own default, to count its parameters)."""
    call = "build_model()" if dim is None else f"build_model(dim={dim})"
    try:
        build = plugin.module.build_model if dim is None else lambda **o: plugin.build(dim, o)
        model = build(**options)
    except Exception as exc:  # the user's code: any error is theirs to fix
        message = said(exc)
        return None, f"config: targets.{name}: {shown}: {call} raised {message}"
    if not hasattr(model, "value_vars") or not model.value_vars:
        return None, (
            f"config: targets.{name}: {shown}: {call} returned"
            f" {type(model).__name__}, not a pymc.Model with free variables"
        )
    return model, None


def _reference_model_problems(plugin, name, shown, dim, size, options, model) -> list[str]:
    """One line if the file's ``reference_model`` cannot stand in for its model in the
    reference rule: it raises, returns no PyMC model, has a discrete free variable, or lacks
    one of the model's free variables (by name, as a free variable or a ``pm.Deterministic``,
    with the same shape)."""
    function = getattr(plugin.module, "reference_model", None)
    if function is None:
        return []
    where = f"config: targets.{name}: {shown}: reference_model"
    if not callable(function):
        return [f"{where} is {function!r:.40}, not a function returning a pymc.Model"]
    try:
        reference = plugin.build_reference(size if dim is None else dim, options)
    except Exception as exc:  # the user's code: any error is theirs to fix
        return [f"{where} raised {said(exc, 400)}"[:400]]
    if not hasattr(reference, "value_vars") or not reference.value_vars:
        kind = type(reference).__name__
        return [f"{where} returned {kind}, not a pymc.Model with free variables"]
    discrete = [rv.name for rv in reference.free_RVs if not str(rv.dtype).startswith("float")]
    if discrete:
        return [f"{where}: free variable {discrete[0]!r} is discrete; the reference runs NUTS"]
    wanted = [rv.name for rv in model.free_RVs]
    usable = {v.name for v in (*reference.free_RVs, *reference.deterministics)}
    missing = [n for n in wanted if n not in usable]
    if missing:
        return [
            f"{where} defines no {', '.join(repr(n) for n in missing)}: it must define each of"
            f" the model's free variables ({', '.join(wanted)}), as a free variable or a"
            " pm.Deterministic of the same name, with the same posterior"
        ]
    mine, theirs = _variable_shapes(model, wanted), _variable_shapes(reference, wanted)
    wrong = [f"{n!r} has shape {theirs[n]}, not {mine[n]}" for n in wanted if mine[n] != theirs[n]]
    if wrong:
        return [f"{where}: {'; '.join(wrong)} (as in the model)"]
    return []


def _variable_shapes(model, names) -> dict:
    """The shapes of the model's variables ``names`` at its initial point."""
    from essbench.quantities import variable_shapes

    return variable_shapes(model, names)


def _free_size(model) -> int:
    """The number of free parameters of a PyMC model (its value variables, flattened)."""
    import numpy as np

    point = model.initial_point()
    return int(sum(np.size(point[var.name]) for var in model.value_vars))


def _discrete_problems(config: dict, name: str, shown: str, model) -> list[str]:
    """One line per discrete free variable of a user's model that a sampler of the study
    cannot run (every shipped sampler moves in a continuous space)."""
    discrete = [
        rv.name for rv in model.free_RVs if str(rv.dtype).startswith(("int", "uint", "bool"))
    ]
    if not discrete:
        return []
    cannot = [
        s
        for s in config["samplers"]
        if runs_on(config, s, name) and not registry.sampler(s).DISCRETE
    ]
    if not cannot:
        return []
    can = [s for s, plugin in registry.samplers().items() if plugin.DISCRETE]
    which = f"samplers that can: {', '.join(can)}" if can else "no essbench sampler can"
    names = ", ".join(repr(v) for v in discrete)
    return [
        f"config: targets.{name}: {shown}: free variable{'s' if len(discrete) > 1 else ''}"
        f" {names} {'are' if len(discrete) > 1 else 'is'} discrete; {', '.join(cannot)}"
        f" cannot run {'them' if len(discrete) > 1 else 'it'} (continuous parameters only)"
        f" and {which}: marginalize it out of the model (e.g. pm.Mixture, or a"
        " logsumexp over its values in a pm.Potential) or remove the target"
    ]


def _semantic_problems(config: dict) -> list[str]:
    problems = []
    known_samplers, known_targets = registry.samplers(), registry.targets()
    for name in config["targets"]:
        if name not in known_targets:
            problems.append(
                f"config: targets.{name}: unknown target{_did_you_mean(name, known_targets)};"
                f" known targets: {', '.join(known_targets)} (or give a file: targets:"
                f" {{{name}: {{file: path/to/{name}.py}}}})"
            )
    for name in config["samplers"]:
        if name not in known_samplers:
            problems.append(
                f"config: samplers.{name}: unknown sampler{_did_you_mean(name, known_samplers)};"
                f" known samplers: {', '.join(known_samplers)}"
            )
            continue
        problems += _sampler_problems(config, name, known_samplers[name])
    for name in config["targets"]:
        if name in known_targets:
            own = _target_problems(config, name, known_targets[name])
            if not own:  # a model that builds: its named quantities must be its variables
                from essbench import quantities

                own = quantities.config_problems(config, name, known_targets[name])
            problems += own
    target, budget = config.get("ess_goal"), config.get("run_budget_seconds")
    if target and budget and budget < target["budget_seconds"]:
        problems.append(
            f"config: run_budget_seconds: {budget:g} is less than ess_goal.budget_seconds"
            f" = {target['budget_seconds']:g}, so runs would fail before they are censored;"
            " raise run_budget_seconds or lower ess_goal.budget_seconds"
        )
    baseline = config.get("baseline")
    if baseline is not None and baseline not in config["samplers"]:
        problems.append(
            f"config: baseline: {baseline!r} is not a sampler of this study"
            f"{_did_you_mean(baseline, config['samplers'])}; samplers:"
            f" {', '.join(config['samplers'])}"
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
        elif published["dim"] not in target_dims(config, published["target"]):
            problems.append(f"config: published.dim: {published['dim']} is not in dims")
    return problems


# Keys that were renamed so that each word has one meaning: refused with the new name.
RENAMED = {
    "seeds": "replicates",
    "target_ess": "ess_goal",
}


def _renamed_problems(config: dict) -> list[str]:
    return [
        f"config: {old}: renamed to {new!r} (same meaning); rename the key in your config"
        for old, new in RENAMED.items()
        if old in config
    ]


def validate(config: dict, schema: dict | None = None) -> dict:
    """Return the config with defaults filled in, or raise :class:`ConfigError`."""
    if not isinstance(config, dict) or not config:
        raise ConfigError(["config: empty or not a mapping; see config/README.md"])
    schema = schema or load_schema()
    problems = _renamed_problems(config)
    if problems:
        raise ConfigError(problems)
    problems = _schema_problems(config, schema)
    if problems:
        raise ConfigError(problems)
    full = _apply_defaults(config, schema)
    problems = registry.register_config(full)
    if problems:
        raise ConfigError(problems)
    problems = _semantic_problems(full)
    if problems:
        raise ConfigError(problems)
    problems = _nothing_to_run(full)
    if problems:
        raise ConfigError(problems)
    return full


def _nothing_to_run(config: dict) -> list[str]:
    """One line when every sampler skips every target (samplers that skip what they cannot
    run: stan_nuts without a Stan program, the nested samplers without a prior)."""
    if any(runs_on(config, s, t) for s in config["samplers"] for t in config["targets"]):
        return []
    why = "; ".join(
        f"{s} on {t}: {registry.sampler(s).unsupported(registry.target(t))}"
        for s in config["samplers"]
        for t in config["targets"]
    )
    return [f"config: no sampler of the study can run on any of its targets ({why})"]


def baseline(config: dict) -> str:
    """The sampler ratios are taken against: the config's ``baseline``, else emcee when the
    study runs it (the tutorial's comparison), else the study's first sampler."""
    if config.get("baseline"):
        return config["baseline"]
    return "emcee" if "emcee" in config["samplers"] else next(iter(config["samplers"]))


def sampler_options(config: dict, sampler: str) -> dict:
    """The sampler's declared defaults overridden by the config's options."""
    merged = dict(registry.sampler(sampler).DEFAULTS)
    merged.update({k: v for k, v in (config["samplers"][sampler] or {}).items() if k != "file"})
    return merged


# In a target's entry, but the study's business, not options passed to the target.
STUDY_KEYS = ("dims", "file", "quantities", "reference_draws")


def target_options(config: dict, target: str) -> dict:
    """Options passed to the target module: its declared defaults overridden by the
    config's (its ``dims`` and ``file`` are the study's business)."""
    merged = dict(registry.target(target).DEFAULTS)
    merged.update(
        {k: v for k, v in (config["targets"][target] or {}).items() if k not in STUDY_KEYS}
    )
    return merged


def target_key(config: dict, target: str) -> str:
    """The key of a target's shared outputs: its options and, for a user's file, the file's
    contents (editing the model makes new compiled models and reference moments)."""
    options = target_options(config, target)
    sha = registry.target(target).file_sha256()
    keyed = {**options, "__file_sha256__": sha} if sha else dict(options)
    draws = reference_draws_sha256(config, target)
    if draws:  # new draws, a new reference (and new runs: run_settings)
        keyed["__reference_draws_sha256__"] = draws
    return options_key(keyed)


def reference_draws_path(config: dict, target: str) -> str | None:
    """The target's ``reference_draws`` file, resolved (relative to the working directory,
    else to the essbench checkout), or None: none given (or not found: the config check
    says so)."""
    from essbench import reference_draws

    given = (config["targets"].get(target) or {}).get("reference_draws")
    if not given:
        return None
    found = reference_draws.resolve(given, registry.REPO)
    return str(found) if found else None


_DRAWS_SHA: dict = {}


def reference_draws_sha256(config: dict, target: str) -> str | None:
    """The hash of the target's ``reference_draws`` file's contents (None: none given)."""
    from essbench import reference_draws

    path = reference_draws_path(config, target)
    if path is None:
        return None
    stat = Path(path).stat()
    key = (path, stat.st_mtime_ns, stat.st_size)
    if key not in _DRAWS_SHA:
        _DRAWS_SHA[key] = reference_draws.sha256(path)
    return _DRAWS_SHA[key]


def _own_dims(config: dict, target: str) -> list[int] | None:
    return (config["targets"][target] or {}).get("dims")


def _stated_dims(config: dict, target: str) -> list[int] | None:
    """The dims the config states for the target: its own, else the study's."""
    return _own_dims(config, target) or config.get("dims")


def target_dims(config: dict, target: str) -> list[int]:
    """The target's own ``dims`` when it sets them, else the study's, else (a model of fixed
    size) its number of free parameters: its ``MIN_DIM = MAX_DIM``, or, for a user's file
    whose ``build_model`` needs no dimension, counted from the model ([] when that fails)."""
    stated = _stated_dims(config, target)
    if stated:
        return list(stated)
    size = fixed_size(config, target)
    return [size] if size is not None else []


_COUNTED: dict = {}


def fixed_size(config: dict, target: str) -> int | None:
    """A target's own size when no dims are stated for it (None: it scales with them)."""
    plugin = registry.targets().get(target)
    if plugin is None:  # an unknown name: the config check says so
        return None
    if plugin.MIN_DIM is not None and plugin.MIN_DIM == plugin.MAX_DIM:
        return int(plugin.MIN_DIM)
    if not plugin.file or plugin.dim_required():
        return None
    options = target_options(config, target)
    key = (target, plugin.file_sha256(), options_key(options))
    if key not in _COUNTED:
        try:
            _COUNTED[key] = _free_size(plugin.module.build_model(**options))
        except Exception:  # the user's code: the config check says what is wrong
            _COUNTED[key] = None
    return _COUNTED[key]


@dataclass(frozen=True)
class Run:
    sampler: str
    target: str
    dim: int
    replicate: int

    @property
    def key(self) -> str:
        return f"{self.target}/d{self.dim}/{self.sampler}/r{self.replicate}"


def runs_on(config: dict, sampler: str, target: str) -> bool:
    """Whether the study runs ``sampler`` on ``target``: always, but for a sampler that skips
    the targets it cannot run on (the exact oracle without exact draws)."""
    plugin = registry.sampler(sampler)
    return not (plugin.SKIP_UNSUPPORTED and plugin.unsupported(registry.target(target)))


def runs(config: dict) -> list[Run]:
    """Every (sampler, target, dim, replicate) of the study, in a stable order."""
    return [
        Run(sampler, target, int(dim), int(replicate))
        for target in config["targets"]
        for dim in target_dims(config, target)
        for sampler in config["samplers"]
        if runs_on(config, sampler, target)
        for replicate in config["replicates"]
    ]


def run_env(sampler: str, target: str) -> str:
    """The conda env a run of ``sampler`` on ``target`` needs: the sampler's own (its
    ``ENV``), unless the target needs its own (a JAX log_prob file: ``jax``, a superset of
    ``sampling``)."""
    env = registry.target(target).ENV
    return registry.sampler(sampler).ENV if env == "sampling" else env


@dataclass(frozen=True)
class Batch:
    """Runs of one sampler that share one process (one ``sample`` job), one after the
    other, model by model (each model's replicates together). ``first`` is the place of
    its first run in the sampler's order of runs in its env (:func:`batches`); the label
    names the places it holds, ``n<first>-<last>`` (``n<first>`` for one run), after
    ``<env>-`` where the env is not the sampler's own (a JAX log_prob file's runs)."""

    sampler: str
    env: str
    first: int
    runs: tuple[Run, ...]

    @property
    def label(self) -> str:
        last = self.first + len(self.runs) - 1
        places = f"n{self.first}" if last == self.first else f"n{self.first}-{last}"
        own = registry.sampler(self.sampler).ENV
        return places if self.env == own else f"{self.env}-{places}"

    @property
    def key(self) -> str:
        return f"{self.sampler}/{self.label}"

    @property
    def models(self) -> list[tuple[str, int]]:
        """The (target, dim) of its runs, each once, in the order they first run."""
        return list(dict.fromkeys((r.target, r.dim) for r in self.runs))


def batches(config: dict) -> list[Batch]:
    """The study's runs cut into jobs. Per sampler and conda env, its models (target and
    dim, as the config lists them), each with its replicates, are packed whole into
    batches of at most ``runs_per_job`` runs (a model with more replicates than that fills
    batches of its own): a process pays its start-up (interpreter, imports, the sampler's
    own first-use compiles) once for several models, and builds and primes each of its
    models once. A finished run is kept whatever batch it falls in when the study changes
    (a record is found by its settings hash)."""
    size = int(config.get("runs_per_job") or 1)
    replicates = sorted(int(r) for r in config["replicates"])
    out = []
    for sampler in config["samplers"]:
        models = [
            (target, int(dim))
            for target in config["targets"]
            if runs_on(config, sampler, target)
            for dim in target_dims(config, target)
        ]
        for env in dict.fromkeys(run_env(sampler, target) for target, _ in models):
            chunks: list[list[Run]] = []
            for target, dim in models:
                if run_env(sampler, target) != env:
                    continue
                runs = [Run(sampler, target, dim, r) for r in replicates]
                if chunks and len(chunks[-1]) + len(runs) <= size:
                    chunks[-1] += runs  # the model fits whole beside the last one
                else:
                    chunks += [runs[i : i + size] for i in range(0, len(runs), size)]
            place = 0
            for chunk in chunks:
                out.append(Batch(sampler, env, place, tuple(chunk)))
                place += len(chunk)
    return out


def options_key(options: dict) -> str:
    """A short name for a target's options: shared outputs (compiled models, reference
    moments) are keyed by it, so two studies that agree on a target share them."""
    blob = json.dumps(options or {}, sort_keys=True, default=str).encode()
    return "o" + hashlib.sha256(blob).hexdigest()[:10]


def target_options_by_key(config: dict, target: str, key: str) -> dict:
    if target_key(config, target) != key:
        raise KeyError(
            f"target {target} of this study has options {target_key(config, target)}, not {key}"
        )
    return target_options(config, target)


def run_settings(config: dict, sampler: str, target: str, dim: int, replicate: int) -> dict:
    """Everything that determines one run's result (its hash goes into the result row)."""
    return {
        "sampler": sampler,
        "sampler_options": sampler_options(config, sampler),
        "target": target,
        "target_options": target_options(config, target),
        "dim": int(dim),
        "replicate": int(replicate),
        "random_seed": derive_seed(config["study_seed"], sampler, target, dim, replicate),
        "backend": config["backend"],
        "ess_goal": config.get("ess_goal"),
        **_file_hashes(sampler, target),
        # Only where named: a study without them keeps its runs' settings hashes.
        **({"quantities": list(q)} if (q := target_quantities(config, target)) else {}),
        # The truth of a run is computed with it: new draws redo the runs' diagnostics.
        **(
            {"reference_draws_sha256": reference_draws_sha256(config, target)}
            if reference_draws_path(config, target)
            else {}
        ),
    }


def target_quantities(config: dict, target: str) -> list[str]:
    """The quantities the config names for a target (essbench.quantities; [] for none)."""
    return list((config["targets"][target] or {}).get("quantities") or [])


def _file_hashes(sampler: str, target: str) -> dict:
    """For a user's sampler or target file: its contents' hash (an edit redoes its runs)."""
    out = {}
    for kind, plugin in (
        ("sampler", registry.sampler(sampler)),
        ("target", registry.target(target)),
    ):
        sha = plugin.file_sha256()
        if sha:
            out[f"{kind}_file_sha256"] = sha
    return out


def settings_hash(settings: dict) -> str:
    blob = json.dumps(settings, sort_keys=True, default=str).encode()
    return hashlib.sha256(blob).hexdigest()[:16]
