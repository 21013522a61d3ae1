"""Named quantities: what the user cares about, measured in the model's own terms.

A target's config entry may list ``quantities: [name, ...]``: any variable of its PyMC model,
a free variable (on its constrained scale: ``sigma``, not ``sigma_log__``) or a
``pm.Deterministic``. A vector variable is measured element by element: ``theta`` means
each of its elements (``theta[0]``, ``theta[1]``, ...), ``theta[3]`` the one element (0-based,
as in PyMC and ArviZ; ``L[1,0]`` for a matrix). Every sampler draws in the model's value
space, so each run's draws are mapped through the model (``Problem.compile_variables``)
after its clock has stopped, and each element gets (:func:`measure`):

- ``ess_bulk``, ``ess_tail``, ``rhat``: ArviZ's, of that element's draws (Kish's ESS of the
  weights for an importance-weighted run: ``ess_basis``);
- ``cost_per_ess``: the run's sampling seconds ÷ that element's ESS on ``ess_basis``;
- against the truth, where one exists for it (:func:`truth`): the bias test of
  :mod:`essbench.policy` on that element alone (its mean, and the fraction of draws below
  the truth's 10/50/90% quantiles, each z scaled by the truth's spread and the run's ESS of
  the estimate, as :func:`essbench.metrics.bias_z` does for parameters; and the
  one-posterior-SD rule). A truth of a quantity comes from draws of the posterior mapped
  through the model: the reference rule's kept draws, posteriordb's reference draws, or
  exact draws (``sample_truth``). Otherwise ``truth_source`` is ``none`` and
  ``truth_failure`` says why, in words.

The results are the record's ``quantity_metrics`` (one dict per element), the long-form
table ``tables/quantities.csv`` (one row per run and element: its columns are the
quantity's own, ``ess_bulk`` there is that quantity's ESS) and ``tables/quantity_summary.csv``
(median and spread over replicates per cell and element), which the summary states.
"""

import math
from dataclasses import dataclass, replace

import numpy as np

from essbench import metrics, policy
from essbench.targets import kurtosis


class QuantityError(ValueError):
    """A quantity name the model does not have; ``str()`` is one phrase."""


@dataclass(frozen=True)
class Element:
    """One scalar of a named quantity: ``label`` (``theta[3]``) of ``variable`` at ``index``."""

    label: str
    variable: str
    index: tuple[int, ...]


def variable_shapes(model, names=None) -> dict[str, tuple[int, ...]]:
    """The shapes of the model's variables ``names`` (default: every free variable and
    ``pm.Deterministic``, in the model's order) at its initial point."""
    import pytensor

    if names is None:
        names = [v.name for v in (*model.free_RVs, *model.deterministics)]
    names = list(names)
    graphs = model.replace_rvs_by_values([model[n].shape for n in names])
    fn = pytensor.function(model.value_vars, graphs, mode="FAST_COMPILE", on_unused_input="ignore")
    point = model.initial_point()
    shapes = fn(*[point[v.name] for v in model.value_vars])
    return {n: tuple(int(k) for k in shape) for n, shape in zip(names, shapes, strict=True)}


def label(variable: str, index: tuple[int, ...]) -> str:
    return f"{variable}[{','.join(str(i) for i in index)}]" if index else variable


def variables_text(model, shapes: dict) -> str:
    """The model's variables as a user would name them:
    ``mu, theta (shape 8), m (Deterministic), L (Deterministic, shape 3x3)``."""
    deterministic = {v.name for v in model.deterministics}
    parts = []
    for name, shape in shapes.items():
        notes = ["Deterministic"] if name in deterministic else []
        notes += [f"shape {'x'.join(str(n) for n in shape)}"] if shape else []
        parts.append(f"{name} ({', '.join(notes)})" if notes else name)
    return ", ".join(parts)


def parse(spec: str) -> tuple[str, tuple[int, ...] | None]:
    """``"theta[3]"`` -> ``("theta", (3,))``; ``"theta"`` -> ``("theta", None)`` (every
    element)."""
    spec = str(spec).strip()
    if spec.endswith("]") and "[" in spec:
        name, _, inside = spec[:-1].rpartition("[")
        try:
            index = tuple(int(part) for part in inside.split(","))
        except ValueError:
            raise QuantityError(
                f"{spec!r}: an element is addressed by integers, 0-based (theta[3], L[1,0])"
            ) from None
        return name.strip(), index
    return spec, None


def elements(specs, shapes: dict, owner: str = "the model") -> list[Element]:
    """Each scalar the named quantities ``specs`` stand for, given the model's variable
    ``shapes``; :class:`QuantityError` for a name or an index the model (``owner``, in
    words) does not have."""
    out: list[Element] = []
    for spec in specs:
        name, index = parse(spec)
        if name not in shapes:
            raise QuantityError(f"{spec!r} is not a variable of {owner}")
        shape = shapes[name]
        if index is None:
            out += [Element(label(name, i), name, i) for i in np.ndindex(*shape)]
            continue
        if len(index) != len(shape) or any(
            not 0 <= i < n for i, n in zip(index, shape, strict=True)
        ):
            raise QuantityError(
                f"{spec!r}: {name} has shape {shape}, so its elements are"
                f" {label(name, tuple(0 for _ in shape))} to"
                f" {label(name, tuple(n - 1 for n in shape))} (0-based)"
                if shape
                else f"{spec!r}: {name} is a scalar; name it without an index"
            )
        out.append(Element(label(name, tuple(index)), name, tuple(index)))
    seen, unique = set(), []
    for element in out:
        if element.label not in seen:
            seen.add(element.label)
            unique.append(element)
    return unique


# --- the config check --------------------------------------------------------------------

LOG_PROB_REFUSAL = (
    "is a log_prob function, not a PyMC model: it has no variables but its parameters, which"
    " every run measures already; remove quantities (or write the model in PyMC)"
)


def config_problems(config: dict, name: str, plugin) -> list[str]:
    """The first problem with the target's ``quantities``, in one line: a name (or element)
    its model does not have, naming the target, the name and the variables that exist; or a
    target whose quantities cannot be computed (a ``log_prob`` function), saying why."""
    from essbench import config as ebconfig

    specs = ebconfig.target_quantities(config, name)
    if not specs:
        return []
    where = f"config: targets.{name}.quantities"
    if plugin.LOG_PROB:
        return [f"{where}: target {name} {LOG_PROB_REFUSAL}"]
    options = ebconfig.target_options(config, name)
    dims = ebconfig.target_dims(config, name)
    for dim in dims:
        try:
            model = plugin.build(dim, options)
        except Exception:  # the target's own check says what is wrong with its model
            return []
        shapes = variable_shapes(model)
        at = f" at d = {dim}" if len(dims) > 1 else ""
        try:
            elements(specs, shapes, owner=f"target {name}{at}")
        except QuantityError as exc:
            return [f"{where}: {exc}; its variables: {variables_text(model, shapes)}"]
    return []


# --- the quantities' draws and truths ------------------------------------------------------


def values(problem, draws: np.ndarray, quantity_elements: list[Element]) -> np.ndarray:
    """(chains, draws, elements): each element's value at each of the flat value-space
    ``draws`` (chains, draws, params), through the model."""
    from essbench.draws import model_variables

    names = list(dict.fromkeys(e.variable for e in quantity_elements))
    variables = model_variables(problem, draws, names)
    return np.stack(
        [variables[e.variable][(slice(None), slice(None), *e.index)] for e in quantity_elements],
        axis=-1,
    ).astype(float)


@dataclass(frozen=True)
class QuantityTruth:
    """The truth of each element, from draws of the posterior mapped through the model."""

    source: str
    mean: np.ndarray
    var: np.ndarray
    mean_mcse: np.ndarray
    var_mcse: np.ndarray
    quantiles: np.ndarray  # (elements, levels) at policy.BIAS_QUANTILE_LEVELS
    quantile_prob_mcse: np.ndarray  # per element: the quantiles' own error, as a probability
    kurtosis: np.ndarray  # per element (policy.MEAN_TEST_MAX_KURTOSIS)

    def mean_tested(self) -> np.ndarray:
        return self.kurtosis <= policy.MEAN_TEST_MAX_KURTOSIS


def truth_from_values(x: np.ndarray, source: str) -> QuantityTruth:
    """A :class:`QuantityTruth` from (chains, draws, elements) draws of the posterior: their
    moments, with Monte Carlo errors from their own ESS, and their quantiles."""
    per = metrics.per_parameter(x)
    flat = x.reshape(-1, x.shape[-1])
    return QuantityTruth(
        source=source,
        mean=per["mean"],
        var=per["var"],
        mean_mcse=per["mcse_mean"],
        var_mcse=per["mcse_var"],
        quantiles=np.quantile(flat, policy.BIAS_QUANTILE_LEVELS, axis=0).T,
        quantile_prob_mcse=np.sqrt(0.25 / per["ess_bulk"]),
        kurtosis=kurtosis(flat),
    )


# Exact draws of a target with sample_truth behind its quantities' truth (as many as the
# reference rule's 4 x 10,000).
EXACT_DRAWS = 40_000
EXACT_SEED = 20_261_204

NO_TRUTH_ANALYTIC = (
    "the target's truth() gives its parameters' moments only, and it has no exact draws"
    " (sample_truth) or reference draws to map through the model"
)


def _kept_draws(reference_json):
    """Where the reference rule kept its draws (beside its record), or None."""
    import json
    from pathlib import Path

    record = json.loads(Path(reference_json).read_text())
    name = record.get("draws_file")
    return Path(reference_json).parent / name if name else None


def posterior_draws(problem, reference_json=None) -> tuple[np.ndarray | None, str, str]:
    """(value-space draws of the posterior (chains, draws, params) or None, the truth's
    source, or why there is none): the reference rule's kept draws, posteriordb's reference
    draws, or exact draws."""
    from essbench.targets import _posteriordb, reference_failure, reference_route

    module = problem.module
    if module.TRUTH == "reference":
        if not reference_json:
            return None, "none", "no reference was computed for this target"
        failure = reference_failure(reference_json)
        if failure:
            return None, "none", f"the reference failed its gates ({failure})"
        path = _kept_draws(reference_json)
        if path is None or not path.exists():
            return (
                None,
                "none",
                (
                    f"the reference record {reference_json} keeps no draws (it was computed"
                    " before quantities were measured): delete it, and the next run recomputes it"
                ),
            )
        with np.load(path) as kept:
            draws = kept["draws"]
        route = reference_route(reference_json)
        routes = ("reference_model", "nested", "user_draws")
        return draws, route if route in routes else "reference", ""
    if module.TRUTH == "posteriordb":
        x = _posteriordb.value_space_reference(module.POSTERIOR, problem.target, problem.dim)
        return x, "posteriordb", ""
    sample = getattr(module.module, "sample_truth", None)
    if sample is None:
        return None, "none", NO_TRUTH_ANALYTIC
    rng = np.random.RandomState(EXACT_SEED)
    x = np.asarray(sample(problem.dim, EXACT_DRAWS, rng, **problem.options), float)
    return x.reshape(4, EXACT_DRAWS // 4, -1), "exact", ""


def truth(problem, quantity_elements, reference_json=None) -> tuple[QuantityTruth | None, str]:
    """The quantities' truth (None, and why not, where there is none); computed once per
    batch (``problem.cache``)."""
    key = ("quantity_truth", tuple(e.label for e in quantity_elements), str(reference_json))
    if key not in problem.cache:
        draws, source, why = posterior_draws(problem, reference_json)
        if draws is None:
            problem.cache[key] = (None, why)
        else:
            x = values(problem, draws, quantity_elements)
            problem.cache[key] = (truth_from_values(x, source), "")
    return problem.cache[key]


# --- one run's measures --------------------------------------------------------------------


def _bias(x: np.ndarray, per: dict, truth_: QuantityTruth, element, j: int, weights) -> dict:
    """The bias test of element ``j`` alone (its own Bonferroni family: its mean and its
    quantile tests): :func:`bias_against` on that element."""
    one = replace(
        truth_,
        **{
            name: np.asarray(getattr(truth_, name))[[j]]
            for name in ("mean", "var", "mean_mcse", "var_mcse", "quantiles")
        },
        quantile_prob_mcse=np.asarray(truth_.quantile_prob_mcse)[[j]],
        kurtosis=np.asarray(truth_.kurtosis)[[j]],
    )
    sliced = {k: np.asarray(v)[[j]] for k, v in per.items()}
    z = bias_against(x[:, :, [j]], [element], one, weights, per=sliced)
    return {
        "z_mean": z["z_mean_max"],
        "z_quantile_max": z["z_quantile_max"],
        "error_sd": z["error_sd_max"],
        "bias_test": z["bias_test"],
        "biased": z["biased"],
        "bias_reason": z["bias_reason"],
    }


def measure(
    record: dict,
    x: np.ndarray,
    quantity_elements: list[Element],
    truth_: QuantityTruth | None,
    no_truth: str = "",
    weights: np.ndarray | None = None,
    threads: int = 1,
) -> list[dict]:
    """One dict per element of the run's quantity draws ``x`` (chains, draws, elements):
    its ESS, R-hat, cost per effective sample and bias test (see the module's docstring)."""
    weighted = weights is not None
    if weighted:
        per = metrics.weighted_per_parameter(x, weights)
        basis = "kish"
    else:
        per = metrics.per_parameter(x, threads, walkers=bool(record.get("ensemble")))
        basis = "bulk"
    threshold = policy.rhat_threshold(x.shape[0], x.shape[1], x.shape[2])
    seconds = record["sampling_seconds"]
    out = []
    for j, element in enumerate(quantity_elements):
        rhat = float(per["rhat"][j])
        row = {
            "quantity": element.label,
            "variable": element.variable,
            "mean": float(per["mean"][j]),
            "sd": math.sqrt(float(per["var"][j])),
            "ess_basis": basis,
            "ess_bulk": float(per["ess_bulk"][j]),
            "ess_tail": float(per["ess_tail"][j]),
            "ess_kish": float(per["ess_kish"][j]) if weighted else math.nan,
            "rhat": rhat,
            "rhat_threshold": threshold,
            "rhat_flagged": None if weighted else bool(rhat > threshold),
            "cost_per_ess": metrics.cost_per_ess(seconds, float(per[f"ess_{basis}"][j])),
        }
        if truth_ is None:
            row.update(
                truth_source="none",
                truth_failure=no_truth,
                truth_mean=math.nan,
                truth_sd=math.nan,
                bias_test="none",
                biased=None,
                bias_reason=f"not checked: no truth ({no_truth})",
            )
        else:
            row.update(
                truth_source=truth_.source,
                truth_failure="",
                truth_mean=float(truth_.mean[j]),
                truth_sd=math.sqrt(float(truth_.var[j])),
                **_bias(x, per, truth_, element, j, weights),
            )
        out.append(row)
    return out


def diagnose(
    record: dict, draws: np.ndarray, problem, reference_json=None, weights=None, threads=1
):
    """The record's ``quantity_metrics``: its named quantities measured on its draws."""
    shapes = problem.cache.get("quantity_shapes") or variable_shapes(problem.model)
    problem.cache["quantity_shapes"] = shapes
    chosen = elements(record["quantities"], shapes)
    x = values(problem, draws, chosen)
    truth_, why = truth(problem, chosen, reference_json)
    return measure(record, x, chosen, truth_, why, weights, threads)


# --- the run's bias test in the model's own terms ------------------------------------------


def transformed_variables(model) -> list[str]:
    """The model's free variables a sampler moves in another space than the user's
    (``sigma`` as ``sigma_log__``): where a bias test in the sampler's space is not one in
    the model's."""
    transforms = getattr(model, "rvs_to_transforms", {})
    return [rv.name for rv in model.free_RVs if transforms.get(rv) is not None]


def model_bias(record: dict, draws: np.ndarray, problem, reference_json=None, weights=None):
    """The run's bias test on the model's free variables in their own terms (``sigma``, not
    ``sigma_log__``), every element one parameter of one Bonferroni family, as
    :func:`essbench.policy.bias_verdict` judges the sampler's parameters; the truth is the
    posterior's draws mapped through the model (:func:`truth`: the reference rule's kept
    draws, posteriordb's reference draws, exact draws). Returns the record's bias columns
    with ``bias_space`` = "model"; where there are no such draws, only ``bias_space`` =
    "sampler" and ``bias_space_reason`` (the test in the sampler's space stands)."""
    names = [rv.name for rv in problem.model.free_RVs]
    key = ("free_variable_elements", tuple(names))
    if key not in problem.cache:
        problem.cache[key] = elements(names, variable_shapes(problem.model, names))
    chosen = problem.cache[key]
    truth_, why = truth(problem, chosen, reference_json)
    if truth_ is None:
        return {"bias_space": "sampler", "bias_space_reason": why}
    x = values(problem, draws, chosen)
    return {
        **bias_against(x, chosen, truth_, weights, ensemble=bool(record.get("ensemble"))),
        "bias_space": "model",
        "bias_space_reason": "",
        "bias_truth_source": truth_.source,
    }


def bias_against(
    x: np.ndarray,
    chosen: list[Element],
    truth_: QuantityTruth,
    weights=None,
    ensemble=False,
    per: dict | None = None,
) -> dict:
    """The bias test of draws ``x`` (chains, draws, elements) of the elements ``chosen``
    against ``truth_``, as one family (:func:`model_bias`; also
    ``benchmarks/model_bias_calibration.py``): the z-scores, errors and verdict columns, and
    ``error_sd_variable``, the element furthest from its truth in posterior SDs. ``per``:
    the per-parameter statistics of ``x`` where the caller has them already."""
    levels = policy.BIAS_QUANTILE_LEVELS
    if weights is None:
        per = per or metrics.per_parameter(x, walkers=ensemble)
        z = metrics.quantile_z(x, levels, truth_.quantiles, truth_.quantile_prob_mcse)
    else:
        per = per or metrics.weighted_per_parameter(x, weights)
        z = metrics.weighted_quantile_z(
            x, weights, levels, truth_.quantiles, truth_.quantile_prob_mcse
        )
    mcse = (truth_.mean_mcse, truth_.var_mcse)
    z.update(metrics.bias_z(x, truth_.mean, truth_.var, per, mcse, truth_.mean_tested()))
    worst = z.pop("error_sd_param")
    verdict = policy.bias_verdict(z, len(chosen))
    where = z.pop("z_quantile_param", None)
    if where is not None:
        z["z_quantile_variable"] = chosen[where].label
        if verdict["biased"] and z["z_quantile_max"] > verdict["bias_z_threshold"]:
            verdict["bias_reason"] += (
                f", worst at {chosen[where].label} ({z['z_quantile_fraction']:.3f} of the"
                f" draws below the truth's {100 * z['z_quantile_level']:g}% quantile)"
            )
    return {**z, **verdict, "error_sd_variable": chosen[worst].label if worst >= 0 else ""}
