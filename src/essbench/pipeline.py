"""The work behind each rule, as plain functions (the scripts only pass paths and params)."""

import hashlib
import logging
import math
import signal
import time
import traceback
from contextlib import contextmanager
from dataclasses import dataclass, field
from time import perf_counter

import numpy as np

from essbench import clock, flag_figures, io, metrics, pause, policy, provenance, registry
from essbench import draws as draws_io
from essbench.config import options_key, settings_hash
from essbench.ess_goal import run_to_goal
from essbench.messages import said
from essbench.targets import (
    load_truth,
    reference_agreement,
    reference_failure,
    reference_route,
)

log = logging.getLogger("essbench")


def compile_model(target: str, dim: int, options: dict, backend: str, out_json):
    """Build the model once and pay PyTensor compilation, warming the shared cache.

    Depends only on the model (target, dim, options, backend), never on the study's
    samplers: the gradient is compiled whenever the target has one.
    """
    from essbench.problem import build_problem

    start = perf_counter()
    problem = build_problem(target, dim, options, backend)
    seconds = problem.warm_compile(gradient=bool(registry.target(target).GRADIENT))
    record = {
        "target": target,
        "dim": dim,
        "backend": backend,
        "options": options,
        "build_seconds": problem.build_seconds,
        "compile_seconds": sum(seconds.values()),
        "compile_seconds_by_function": seconds,
        "total_seconds": perf_counter() - start,
        "n_params": problem.ndim,
    }
    log.info("compiled %s d=%d: %s", target, dim, record)
    io.write_json(out_json, record)
    return record


def compile_stan(target: str, dim: int, options: dict, out_json):
    """Compile the target's Stan program with its data at ``dim`` into the Stan cache
    (``$ESSBENCH_STAN_CACHE``: the workflow's shared one), so that runs only load it.

    Depends only on the program and its data, never on the study's samplers. The record
    says what was compiled (hashes of the program and of the data), how long the build took
    (waiting for another job's build of the same program included; ``cached``: the program
    was compiled already, e.g. for another dim) and with what.
    """
    from essbench import stan

    program, data = stan.target_program(registry.target(target), dim, options)
    start = perf_counter()
    model, cached = stan.compile_program(program, data)
    record = {
        "target": target,
        "dim": dim,
        "options": options,
        "program_sha256": stan.program_sha256(program),
        "data_sha256": stan.data_sha256(data),
        "model_name": model.model_name,
        "cached": cached,
        "build_seconds": perf_counter() - start,
        "versions": stan.versions(),
    }
    log.info("compiled the Stan program of %s d=%d: %s", target, dim, record)
    io.write_json(out_json, record)
    return record


# The batch's throw-away run draws with the first run's seed plus this (any other seed).
PRIME_SEED_OFFSET = 7919


class RunBudgetExceeded(TimeoutError):
    pass


@contextmanager
def wall_time_budget(seconds: float | None):
    """Raise :class:`RunBudgetExceeded` in this (main) thread after ``seconds``, less the
    seconds other jobs' timed sections paused this one
    (:func:`essbench.pause.paused_seconds`): the alarm then rings again for what is left."""
    if not seconds:
        yield
        return
    armed, given = time.time(), 0.0

    def handler(signum, frame):
        nonlocal given
        owed = pause.paused_seconds(armed) - given
        if owed > 1e-3:
            given += owed
            signal.setitimer(signal.ITIMER_REAL, owed)
            return
        raise RunBudgetExceeded(f"run exceeded its wall-time budget of {seconds:g} s")

    previous = signal.signal(signal.SIGALRM, handler)
    signal.setitimer(signal.ITIMER_REAL, float(seconds))
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def _failure(exc: BaseException) -> str:
    log.error("run failed:\n%s", traceback.format_exc())
    return said(exc)


def namespaced(prefix: str, values: dict) -> dict:
    """A sampler's own settings or statistics as record fields ``<prefix>_<name>``: they can
    never overwrite a core field (``status``, ``dim``, ...). A name that is not an identifier
    is the sampler's bug, raised (and so recorded as the run's failure)."""
    out = {}
    for key, value in (values or {}).items():
        if not (isinstance(key, str) and key.isidentifier()):
            raise ValueError(f"sampler returned a {prefix} named {key!r}: not an identifier")
        out[f"{prefix}_{key}"] = value
    return out


def sample(
    settings: dict,
    threads: int,
    log_path: str,
    budget_seconds: float | None = None,
    problem=None,
    exclusive_lock: str | None = None,
):
    """One run of one sampler: ``(record, draws, sampler run or None)``.

    A failure (exception, non-finite draws, budget) is recorded in the record, never
    raised. ``problem``: the batch's model, built once; None builds it (timed in the run).
    ``exclusive_lock``: a lock file each of the run's timed sections holds
    (``exclusive_sampling``, :class:`essbench.clock.Sections`); its waits are outside the
    clock and the budget.
    """
    from essbench.problem import build_problem

    module = registry.sampler(settings["sampler"])
    record = {
        **{k: v for k, v in settings.items() if k != "ess_goal" and not k.endswith("_options")},
        "settings_hash": settings_hash(settings),
        "status": "ok",
        "reason": "",
        "log": log_path,
        "threads": threads,
        # The cores the run keeps busy, whatever Snakemake granted (--cores 1 caps a job's
        # threads, not what the sampler uses): the contention rule counts these.
        "threads_needed": module.threads(settings["sampler_options"]),
        "gradient_based": module.NEEDS_GRADIENT,
        "ensemble": module.ENSEMBLE,
    }
    draws = np.empty((0, 0, 0))
    result = None
    record["started_at"] = time.time()
    # The sampler's calls that its clock counts, each alone on the machine with
    # exclusive_sampling, and how busy the rest of the machine was meanwhile. An oracle's
    # clock is never a cost: it does not wait for its turn (nor make others wait long).
    sections = clock.Sections(None if module.ORACLE else exclusive_lock)
    try:
        with wall_time_budget(budget_seconds):
            if problem is None:
                problem = build_problem(
                    settings["target"],
                    settings["dim"],
                    settings["target_options"],
                    settings["backend"],
                )
            record["build_seconds"] = problem.build_seconds
            goal = settings.get("ess_goal")
            if goal:
                result, info = run_to_goal(
                    module,
                    problem,
                    settings["sampler_options"],
                    settings["random_seed"],
                    goal=goal["ess"],
                    budget_seconds=goal["budget_seconds"],
                    max_growth=goal["max_growth"],
                    threads=threads,
                    reliable=goal.get("reliable", True),
                    timed=sections.timed,
                )
                record.update(info)
            else:
                with sections.timed():
                    result = module.run(
                        problem, settings["sampler_options"], settings["random_seed"]
                    )
            draws = result.draws
            record.update(
                compile_seconds=result.compile_seconds,
                warmup_seconds=result.warmup_seconds,
                draw_seconds=result.draw_seconds,
                sampling_seconds=result.sampling_seconds,
                grad_evals=result.grad_evals,
                logp_evals=result.logp_evals,
                n_chains=draws.shape[0],
                n_draws=draws.shape[1],
                n_params=draws.shape[2],
                **namespaced("option", result.settings),
                **namespaced("stat", result.stats),
            )
            if draws.shape[2] != problem.ndim:
                raise RuntimeError(f"draws have {draws.shape[2]} params, model has {problem.ndim}")
            if not np.all(np.isfinite(draws)):
                raise FloatingPointError("draws contain non-finite values")
            weights = result.weights
            if weights is not None and (
                weights.shape != draws.shape[:2] or not np.all(np.isfinite(weights))
            ):
                raise FloatingPointError("weights are not finite, one per draw")
    except Exception as exc:  # a failed run is a result, not a crash of the study
        record["status"] = "failed"
        record["reason"] = _failure(exc)
        if isinstance(exc, RunBudgetExceeded):
            record["failed_budget_seconds"] = budget_seconds
    record.update(sections.record())
    record["finished_at"] = time.time()
    # how long other runs' sections paused this run's job while it ran (its untimed
    # parts' wall times, such as compile_seconds, include it; its clock never does)
    record["paused_seconds"] = pause.paused_seconds(record["started_at"], record["finished_at"])
    record["draws_sha256"] = hashlib.sha256(np.ascontiguousarray(draws).tobytes()).hexdigest()
    record.update(provenance.collect(threads))
    return record, draws, result


def diagnose(
    record: dict,
    draws: np.ndarray,
    model_compile_seconds: float | None = None,
    threads: int = 1,
    target_options: dict | None = None,
    reference_json=None,
    weights: np.ndarray | None = None,
    problem=None,
) -> dict:
    """Add ESS, R-hat, costs, bias and (for ensembles) autocorrelation to a run's record.

    A run whose settings name ``quantities`` gets them measured too (``quantity_metrics``,
    :mod:`essbench.quantities`), on its draws mapped through ``problem``'s model.

    ``weights`` (chains, draws): an importance-weighted run's (nested sampling). Its ESS is
    Kish's (``ess_kish``; ``ess_basis`` = "kish", else "bulk"), which the costs divide by;
    its estimates, MCSEs and bias test are weighted; R-hat and the chain/τ rule do not apply
    (``flags_not_assessable`` says so).
    """
    record = dict(record)
    if model_compile_seconds is not None:
        record["model_compile_seconds"] = model_compile_seconds
    if record["status"] == "ok":
        start = perf_counter()
        ensemble = bool(record.get("ensemble"))
        weighted = weights is not None
        if weighted:
            per_param = metrics.weighted_per_parameter(draws, weights)
            record.update(metrics.summarize_weighted(per_param))
            basis, ess_mean = "kish", record["ess_kish"]
            ess_min = ess_mean
        else:
            per_param = metrics.per_parameter_once(draws, threads, walkers=ensemble)
            record.update(metrics.summarize_ess_rhat(per_param))
            basis, ess_mean, ess_min = "bulk", record["ess_bulk_mean"], record["ess_bulk_min"]
        record["ess_basis"] = basis
        # Per-parameter vectors for the ESS calibration across replicates (not table columns).
        record["param_mean"] = per_param["mean"].tolist()
        record[f"param_ess_{basis}"] = per_param[f"ess_{basis}"].tolist()
        seconds = record["sampling_seconds"]
        record["cost_per_ess_mean"] = metrics.cost_per_ess(seconds, ess_mean)
        record["cost_per_ess_min"] = metrics.cost_per_ess(seconds, ess_min)
        grads = record.get("grad_evals") or 0
        logps = record.get("logp_evals") or 0
        record["ess_per_grad"] = ess_mean / grads if grads else math.nan
        record["ess_per_logp"] = ess_mean / logps if logps else math.nan
        truth = load_truth(record["target"], record["dim"], target_options or {}, reference_json)
        if truth is None:  # the reference failed its gates: no bias test, the rest stands
            record["truth_source"] = "none"
            record["truth_failure"] = (
                f"the reference failed its gates ({reference_failure(reference_json)})"
            )
            record.update(bias_test="none", biased=None, bias_reason="not checked: no truth")
        else:
            record["truth_mean"] = truth.mean.tolist()
            record["truth_var"] = truth.var.tolist()
            plugin = registry.target(record["target"])
            record["truth_source"] = plugin.TRUTH
            if plugin.TRUTH == "analytic" and plugin.file:  # the user's truth(), not ours
                record["truth_source"] = "user"
            if record["truth_source"] == "reference":  # which route of the reference rule
                record["truth_route"] = reference_route(reference_json)
                if record["truth_route"] in ("reference_model", "nested", "user_draws"):
                    record["truth_source"] = record["truth_route"]
                record.update(truth_agreement(reference_agreement(reference_json)))
            record.update(
                metrics.bias_z(
                    draws, truth.mean, truth.var, per_param, truth.mcse(), truth.mean_tested()
                )
            )
            if truth.quantiles is not None:
                levels, quantiles = truth.quantile_levels, truth.quantiles
                if weighted:
                    z = metrics.weighted_quantile_z(
                        draws, weights, levels, quantiles, truth.quantile_prob_mcse
                    )
                else:
                    z = metrics.quantile_z(draws, levels, quantiles, truth.quantile_prob_mcse)
                record.update(z)
            record.update(policy.bias_verdict(record, draws.shape[2]))
            record.update(_bias_in_model_terms(record, draws, problem, reference_json, weights))
        if not weighted:  # the MCHMC papers' cost, its own columns (never a cost per ESS)
            from essbench import literature

            record.update(literature.columns(record, draws, target_options))
        if ensemble:
            record.update(metrics.autocorr(draws, threads, per_param))
        if record.get("quantities") and problem is not None:
            record.update(_quantity_metrics(record, draws, problem, reference_json, weights))
        record["rhat_threshold"] = policy.rhat_threshold(*draws.shape)
        record["flags_not_assessable"] = policy.WEIGHTED_NOT_ASSESSABLE if weighted else ""
        record.update(policy.unreliable_flags(record))
        reasons = policy.unreliable_reasons(record)
        record["unreliable"] = bool(reasons)
        record["unreliable_reason"] = "; ".join(reasons)
        # A caveat on the clock, not on the ESS: the cost may be inflated, the draws are fine.
        record["contention_reason"] = policy.contention_reason(record)
        record["contended"] = bool(record["contention_reason"])
        ok = all(math.isfinite(v) and v > 0 for v in (ess_mean, record["cost_per_ess_mean"]))
        if not ok:
            record["status"] = "failed"
            record["reason"] = "ESS or cost is not finite and positive"
        record["diagnose_seconds"] = perf_counter() - start
    return record


def _bias_in_model_terms(record, draws, problem, reference_json, weights) -> dict:
    """The bias test redone on the model's own variables (``sigma``, not ``sigma_log__``)
    where a sampler moves in another space (:func:`essbench.quantities.model_bias`);
    ``bias_space`` says which space the record's test is in. A model without transforms
    (or a ``log_prob`` target, whose parameters are its only terms) is tested as it is."""
    from essbench import quantities

    model = getattr(problem, "model", None)
    if model is None or not quantities.transformed_variables(model):
        return {"bias_space": "model", "bias_space_reason": ""}
    try:
        return quantities.model_bias(record, draws, problem, reference_json, weights)
    except Exception as exc:  # the test in the sampler's space stands, and says why
        log.warning("the bias test in the model's terms failed:\n%s", traceback.format_exc())
        return {"bias_space": "sampler", "bias_space_reason": said(exc)}


def _quantity_metrics(record, draws, problem, reference_json, weights) -> dict:
    """The run's named quantities measured (``quantity_metrics``), or why they could not be
    (``quantity_failure``: the run's own numbers stand)."""
    from essbench import quantities

    try:
        found = quantities.diagnose(record, draws, problem, reference_json, weights)
    except Exception as exc:  # never lose the run's own numbers to its quantities
        return {"quantity_metrics": [], "quantity_failure": _failure(exc)}
    return {"quantity_metrics": found, "quantity_failure": ""}


def truth_agreement(checks: list[dict]) -> dict:
    """A run's columns on its truth's cross-checks (the reference record's
    ``route_agreement``): ``truth_routes_checked`` (the other routes that passed, "" none),
    ``truth_routes_agree`` (None: nothing to compare) and ``truth_caveat`` (the
    disagreements' sentences, "" none)."""
    return {
        "truth_routes_checked": ", ".join(c["routes"][1] for c in checks),
        "truth_routes_agree": all(c["agree"] for c in checks) if checks else None,
        "truth_caveat": "; ".join(c["sentence"] for c in checks if not c["agree"]),
    }


def finished_record(path, settings: dict, budget_seconds: float | None = None) -> dict | None:
    """The record at ``path`` if it is a finished run of exactly these settings, else None
    (missing, unreadable, or from other settings: then the run is done again). A run that
    failed on its wall-time budget is done again once ``budget_seconds`` is larger than the
    budget it failed at (or unlimited): the one failure that raising the budget can mend."""
    try:
        record = io.read_json(path)
    except (OSError, ValueError):
        return None
    if record.get("settings_hash") != settings_hash(settings) or "diagnosed_at" not in record:
        return None
    failed_at = record.get("failed_budget_seconds")
    if failed_at is not None and (not budget_seconds or budget_seconds > failed_at):
        return None
    return record


def _process_started_at() -> float:
    """When this process started (the start-up it paid before any run: interpreter, imports)."""
    try:
        import psutil

        return psutil.Process().create_time()
    except Exception:  # pragma: no cover - psutil is a Snakemake dependency
        return math.nan


def _hold_busy_cores(todo: list[dict]) -> dict:
    """In a workflow job (one that holds core tokens: :func:`essbench.clock.hold_job_cores`),
    hold as many as the batch's runs keep cores busy, where that is more than Snakemake
    granted (``stan_nuts``'s chain and reader under ``--cores 1``); the tokens held and the
    job's whole wait for them, for the records (``batch_cores_held``,
    ``batch_cores_wait_seconds``: NaN outside a workflow job). A job whose sections pause
    every other job (:mod:`essbench.pause`) holds what it was granted: a section has every
    core by pausing, and the rest of its work is the granted threads'."""
    held = clock.job_turn()
    if held is None or not held.directory:
        return {"batch_cores_held": math.nan, "batch_cores_wait_seconds": math.nan}
    waited = held.wait_seconds
    if pause.registered():
        return {"batch_cores_held": held.cores, "batch_cores_wait_seconds": waited}
    needed = max(
        (
            registry.sampler(r["settings"]["sampler"]).threads(r["settings"]["sampler_options"])
            for r in todo
        ),
        default=0,
    )
    # More than the machine has is all of it: a job that holds every token keeps them.
    if min(needed, held.cpus) > held.cores:
        held = clock.hold_job_cores(needed)
        waited += held.wait_seconds
    return {"batch_cores_held": held.cores, "batch_cores_wait_seconds": waited}


def _model_key(settings: dict) -> tuple:
    """What one model of a batch is: the runs that share it share its build and prime."""
    return (
        settings["target"],
        int(settings["dim"]),
        options_key(settings["target_options"]),
        settings["backend"],
    )


@dataclass
class _Model:
    """One model of a batch, built (``problem``: None after a failed build) and primed, with
    its compile rule's ``compile_seconds`` (None without a compile record)."""

    problem: object = None
    primed: dict = field(default_factory=lambda: {"prime_seconds": 0.0, "prime_error": ""})
    compile_seconds: float | None = None
    done: int = 0  # its runs done so far in this process


def _prepare_model(run: dict, budget_seconds) -> _Model:
    """Read the compile record of a run's model (``run["model"]``), build the model and run
    its throw-away run (:func:`essbench.clock.prime`), before the first of its runs' clocks:
    whatever only a process's first run, or a model's
    first run in it, would pay (imports, first executions of compiled code, a sampler's
    first-use compiles, allocator growth, thread pools) is paid here. A failed build is
    logged, and each of its runs records the failure itself."""
    from essbench.problem import build_problem

    settings = run["settings"]
    model = _Model()
    if run.get("model"):
        model.compile_seconds = io.read_json(run["model"])["compile_seconds"]
    try:
        with wall_time_budget(budget_seconds):
            model.problem = build_problem(
                settings["target"], settings["dim"], settings["target_options"], settings["backend"]
            )
    except Exception:
        log.error(
            "building the model of %s at d = %s failed:\n%s",
            settings["target"],
            settings["dim"],
            traceback.format_exc(),
        )
        return model
    try:
        with wall_time_budget(budget_seconds):
            model.primed = clock.prime(
                registry.sampler(settings["sampler"]),
                model.problem,
                {**settings["sampler_options"]},
                (int(settings["random_seed"]) + PRIME_SEED_OFFSET) % 2**32,
            )
    except RunBudgetExceeded as exc:
        model.primed = {"prime_seconds": float(budget_seconds), "prime_error": str(exc)}
    return model


def run_batch(
    runs: list[dict],
    out_manifest,
    threads: int,
    diagnose_threads: int,
    log_path: str,
    keep_draws: bool,
    budget_seconds: float | None = None,
    exclusive_lock: str | None = None,
):
    """Runs of one sampler, one after the other in this process, on one model or several.

    ``runs``: dicts of ``settings``, ``record`` (path), ``draws`` (path of the kept
    draws, or None), ``flagged_draws`` (where a flagged run keeps its worst parameters'
    draws, or None), and optionally ``model`` (the compile rule's record of its model,
    whose ``compile_seconds`` the run reports) and ``reference`` (the reference rule's
    record, where the target's truth is computed). A run whose record is already finished
    for the same settings is kept as it is; every other run is sampled, diagnosed and
    written atomically at once, so a batch killed half-way loses only the run in flight.

    Each model the runs to do need is built and primed once, just before the first of
    them (:func:`_prepare_model`), and let go after the last. The first run done of each
    model carries its ``build_seconds`` (0 for the others); every run has its model's
    ``batch_build_seconds``, ``batch_prime_seconds`` and ``batch_prime_error``, and the
    batch's ``batch_size``, ``batch_models`` and its own ``batch_position``. The manifest
    lists the records the batch vouches for, with their draws hashes.
    ``exclusive_lock``: the lock file every run's sampling holds (:func:`sample`).
    """
    process_started_at = _process_started_at()
    batch_started_at = time.time()
    for run in runs:  # a batch killed outright (SIGKILL) leaves its writes' temporary files
        for path in (run["record"], run.get("draws"), run.get("flagged_draws")):
            if path:
                io.remove_partials(path)
    kept = [finished_record(r["record"], r["settings"], budget_seconds) for r in runs]
    todo = [r for r, record in zip(runs, kept, strict=True) if record is None]
    cores = _hold_busy_cores(todo)
    n_models = len({_model_key(r["settings"]) for r in runs})
    last = {_model_key(r["settings"]): i for i, r in enumerate(todo)}
    models: dict = {}
    entries, done = [], 0
    for position, (run, record) in enumerate(zip(runs, kept, strict=True)):
        settings, path = run["settings"], run["record"]
        if record is None:
            key = _model_key(settings)
            if key not in models:
                models[key] = _prepare_model(run, budget_seconds)
            model = models[key]
            problem = model.problem
            # problem is None after a failed build: the run then builds (and fails) itself
            record, draws, result = sample(
                settings,
                threads,
                log_path,
                budget_seconds,
                problem=problem,
                exclusive_lock=exclusive_lock,
            )
            # A model is built once per batch: its seconds belong to its first run done.
            record["batch_build_seconds"] = record.get("build_seconds")
            if problem is not None and model.done:
                record["build_seconds"] = 0.0
            model.done += 1
            record = diagnose(
                record,
                draws,
                model_compile_seconds=model.compile_seconds,
                threads=diagnose_threads,
                target_options=settings["target_options"],
                reference_json=run.get("reference"),
                weights=getattr(result, "weights", None),
                problem=problem,
            )
            record.update(
                batch_prime_seconds=model.primed["prime_seconds"],
                batch_prime_error=model.primed["prime_error"],
                batch_size=len(runs),
                batch_models=n_models,
                batch_position=position,
                batch_runs_done=len(todo),
                **cores,
                process_started_at=process_started_at,
                batch_started_at=batch_started_at,
                draws_path=None,
                draws_bytes=0,
            )
            if keep_draws and run.get("draws") and record["status"] == "ok":
                # In the model's own terms (sigma, not sigma_log__; Deterministics, dims).
                tree = draws_io.model_datatree(
                    problem, draws, getattr(result, "sample_stats", None)
                )
                record["draws_bytes"] = draws_io.save(run["draws"], tree)
                record["draws_path"] = str(run["draws"])
            # A flagged or censored run keeps its worst parameters' draws, whatever
            # keep_draws says: the report shows them (essbench.flag_figures).
            record.update(flagged_draws_path=None, flagged_draws_bytes=0, flagged_worst="")
            if run.get("flagged_draws") and record["status"] == "ok" and problem is not None:
                labels = flag_figures.parameter_labels(
                    problem.names, problem.shapes, problem.slices
                )
                stats = getattr(result, "sample_stats", None)
                record.update(
                    flag_figures.keep(
                        run["flagged_draws"], record, draws, labels, stats, diagnose_threads
                    )
                )
            record["diagnosed_at"] = time.time()
            io.write_json(path, record)
            if last[key] == done:  # its model's last run: let the model go
                model.problem = None
                problem = None
            done += 1
        entries.append(
            {
                "record": str(path),
                "settings_hash": record["settings_hash"],
                "draws_sha256": record["draws_sha256"],
                "started_at": record["started_at"],
                "status": record["status"],
            }
        )
    io.write_json(out_manifest, {"runs": entries, "done_now": len(todo)})
    return entries


class ReferenceGateError(RuntimeError):
    pass


def reference(
    target: str,
    dim: int,
    options: dict,
    backend: str,
    out_json,
    threads: int = 2,
    reference_draws=None,
):
    """Reference moments of a target without closed-form truth, gated.

    Every route available for the target is computed (:data:`REFERENCE_ROUTES`, in order of
    preference): ``reference_model``, NUTS on the target's ``reference_model`` (an equivalent
    reparameterization, e.g. the non-centered form of a funnel), its draws mapped into the
    model's own value variables; ``nested``, nautilus from the model's own priors (a user's
    model whose priors can be a prior transform: :func:`essbench.nested.model_prior_problem`;
    why not is recorded in ``unavailable_routes``); ``user_draws``, the draws the config names
    (``reference_draws``: an ArviZ netCDF or CSV file, :mod:`essbench.reference_draws`),
    mapped the same way; ``nuts_on_model``, NUTS on the model itself (always available). Each
    is gated (:mod:`essbench.policy`: rank R-hat, divergences where it has them, bulk ESS of
    every parameter; the nested route its stopping rule and Kish's ESS). The first that
    passes makes the truth (the record's ``route``); every other that passes is a check on
    it: its moments (``checked_routes``) and whether their means agree within their combined
    MCSEs (``route_agreement``, one entry per checked route: :func:`route_agreement`); a
    route that fails is listed with its reasons (``failed_routes``). Where none passes,
    writes a record with ``status: failed`` and every route's ``reasons`` instead of moments:
    the study goes on without a truth (every cost, ESS and flag is reported; the bias test
    is not run, and the summary says why and what to do).
    """
    from essbench.problem import build_problem

    module = registry.target(target)
    if module.LOG_PROB:  # JAX NUTS, or nested sampling from its prior transform
        from essbench.logprob import reference as log_prob_reference

        try:
            record = log_prob_reference(target, dim, options, backend, threads)
        except ReferenceGateError as exc:  # a result, not a crash (as below)
            record = {"target": target, "dim": dim, "status": "failed", "reasons": [str(exc)]}
        io.write_json(out_json, record)
        return record
    settings = {**registry.sampler("pymc_nuts").DEFAULTS, "cores": threads, **module.REFERENCE_NUTS}
    problem = build_problem(target, dim, options, backend)
    nested_why = None
    if module.file:  # a user's model (the shipped targets keep the routes of their tables)
        from essbench.logprob import REFERENCE_NESTED
        from essbench.nested import model_prior_problem

        if getattr(module.module, "REFERENCE_NESTED", REFERENCE_NESTED) is None:
            nested_why = "turned off (REFERENCE_NESTED = None in the model's file)"
        else:
            nested_why = _nested_unavailable(problem, model_prior_problem)
    routes = {
        "reference_model": (
            (lambda: _reference_from_model(problem, module, settings, threads))
            if getattr(module.module, "reference_model", None) is not None
            else None
        ),
        "nested": (
            (lambda: _reference_nested(problem, module, threads))
            if module.file and nested_why is None
            else None
        ),
        "user_draws": (
            (lambda: _reference_from_draws(problem, reference_draws, threads))
            if reference_draws
            else None
        ),
        "nuts_on_model": lambda: _reference_run(
            problem, problem, "nuts_on_model", settings, threads
        ),
    }
    attempts = []
    for route in REFERENCE_ROUTES:
        compute = routes.get(route)
        if compute is None:
            continue
        try:
            attempts.append(compute())
        except Exception as exc:  # one route's failure: another may still make a truth
            attempts.append({"route": route, "status": "failed", "reasons": [_failure(exc)]})
    # The truth's route's draws (the first that passed), kept for the named quantities.
    drawn = next((a.get(DRAWS_KEY) for a in attempts if a.get("status") == "ok"), None)
    record = combine_routes(attempts, problem)
    if drawn is not None:
        record.update(_keep_reference_draws(kept_draws_path(out_json), drawn))
    if nested_why is not None:
        record["unavailable_routes"] = [{"route": "nested", "reason": nested_why}]
    if record["status"] != "ok":
        log.warning(
            "reference for %s d=%s failed its gates: %s; the study goes on without a truth",
            target,
            dim,
            "; ".join(record["reasons"]),
        )
    for check in record.get("route_agreement", []):
        if not check["agree"]:
            log.warning("reference for %s d=%s: %s", target, dim, check["sentence"])
    io.write_json(out_json, record)
    return record


# The reference rule's routes, in order of preference: the first that passes its gates makes
# the truth, every other that passes checks it.
REFERENCE_ROUTES = ("reference_model", "nested", "user_draws", "nuts_on_model")

REFERENCE_ROUTE_TEXT = {
    "reference_model": "NUTS on reference_model",
    "nested": "nested sampling from the model's priors",
    "user_draws": "the reference_draws file",
    "nuts_on_model": "NUTS on the model",
}

# What a checked route keeps of its record (its moments and its gates' statistics).
CHECKED_FIELDS = (
    "route",
    "mean",
    "var",
    "mean_mcse",
    "var_mcse",
    "ess_bulk_min",
    "ess_kish",
    "rhat_max",
    "divergences",
    "sampling_seconds",
)


def combine_routes(attempts: list[dict], problem) -> dict:
    """The reference record from every route's (in order of preference): the first that
    passed, with the others that passed as ``checked_routes`` and their agreement with it
    (``route_agreement``), and the ones that failed as ``failed_routes``; where none passed,
    the last route's record with every route's reasons."""
    attempts = [{k: v for k, v in a.items() if k != DRAWS_KEY} for a in attempts]
    passed = [a for a in attempts if a.get("status") == "ok"]
    failed = [a for a in attempts if a.get("status") != "ok"]
    if passed:
        record = dict(passed[0])
        others = passed[1:]
        if others:
            from essbench.flag_figures import parameter_labels

            labels = parameter_labels(problem.names, problem.shapes, problem.slices)
            record["checked_routes"] = [{k: o.get(k) for k in CHECKED_FIELDS} for o in others]
            record["route_agreement"] = [route_agreement(record, o, labels) for o in others]
        if failed:
            record["failed_routes"] = failed
        return record
    record = dict(attempts[-1])
    if len(attempts) > 1:
        record["failed_routes"] = attempts[:-1]
        record["reasons"] = [
            f"{REFERENCE_ROUTE_TEXT.get(a['route'], a['route'])}: {reason}"
            for a in attempts
            for reason in a["reasons"]
        ]
    return record


def route_agreement(truth: dict, other: dict, labels: list[str]) -> dict:
    """Whether two routes' means agree within their combined MCSEs: per parameter
    z = |mean_a - mean_b| / sqrt(mcse_a² + mcse_b²); they disagree where the largest |z|
    exceeds :func:`essbench.policy.route_agreement_threshold` (Bonferroni over the
    parameters, family rate ``policy.ROUTE_AGREEMENT_ALPHA``). Also the largest difference
    in posterior SDs (the square root of the two variances' mean), the size that matters."""
    a, b = np.asarray(truth["mean"], float), np.asarray(other["mean"], float)
    se = np.hypot(np.asarray(truth["mean_mcse"], float), np.asarray(other["mean_mcse"], float))
    diff = np.abs(a - b)
    with np.errstate(divide="ignore", invalid="ignore"):
        z = np.where(se > 0, diff / se, np.where(diff > 0, np.inf, 0.0))
        sd = np.sqrt((np.asarray(truth["var"], float) + np.asarray(other["var"], float)) / 2)
        diff_sd = np.where(sd > 0, diff / sd, 0.0)
    worst = int(np.argmax(z))
    threshold = policy.route_agreement_threshold(len(z))
    agree = bool(z[worst] <= threshold)
    names = (truth["route"], other["route"])
    text = [REFERENCE_ROUTE_TEXT.get(r, r) for r in names]
    verb = "agree with" if agree else "disagree with"
    sentence = (
        f"the means of {text[1]} {verb} the truth's ({text[0]}): largest |z| ="
        f" {z[worst]:.3g} {'≤' if agree else '>'} {threshold:.3g} at {labels[worst]}"
        f" ({a[worst]:.4g} vs {b[worst]:.4g}, {diff_sd[worst]:.2g} posterior SD apart)"
    )
    return {
        "routes": list(names),
        "max_z": float(z[worst]),
        "worst_parameter": labels[worst],
        "z_threshold": threshold,
        "agree": agree,
        "max_diff_sd": float(np.max(diff_sd)),
        "sentence": sentence,
    }


# The nested route's run: nautilus until its effective sample size passes twice the gate
# (as a log_prob file's nested reference; a file's REFERENCE_NESTED overrides these).
NESTED_SAMPLER = "nautilus"


def _nested_unavailable(problem, why) -> str | None:
    """Why the nested route cannot run on ``problem`` (None: it can): the model's priors
    (:func:`essbench.nested.model_prior_problem`), or too few parameters for nautilus."""
    low = registry.sampler(NESTED_SAMPLER).MIN_DIM
    if low is not None and problem.ndim < low:
        return f"{NESTED_SAMPLER} needs at least {low} parameters, the model has {problem.ndim}"
    try:
        return why(problem)
    except Exception as exc:  # the user's model: the route is unavailable, and why
        return _failure(exc)


def _reference_nested(problem, module, threads: int) -> dict:
    """The ``nested`` route: nautilus on the user's model with its own priors as the prior
    transform (each free variable's ``pm.icdf`` given the ones drawn before it, then its
    transform: :func:`essbench.nested.model_prior_problem` says where it cannot), gated on
    its own terms (:func:`essbench.policy.nested_reference_failures`: its stopping rule,
    Kish's ESS); moments, and their MCSEs, weighted."""
    from essbench import nested
    from essbench.logprob import REFERENCE_NESTED
    from essbench.samplers import nautilus

    settings = {
        **registry.sampler(NESTED_SAMPLER).DEFAULTS,
        "n_eff": 2 * policy.REFERENCE_MIN_ESS_BULK,
        **getattr(module.module, "REFERENCE_NESTED", REFERENCE_NESTED),
    }
    # The model's own priors, whatever the target declares for the nested samplers.
    problem.cache["nested"] = nested._model_prior(problem, module.PRIOR_ICDF)
    try:
        run = nautilus.run(problem, settings, seed=20_211_028)
    finally:
        problem.cache.pop("nested", None)
    per = metrics.weighted_per_parameter(run.draws, run.weights)
    ess = float(per["ess_kish"][0])
    converged = bool(run.stats.get("converged"))
    failed = policy.nested_reference_failures(ess, converged)
    record = {
        "target": problem.target,
        "dim": problem.dim,
        "route": "nested",
        "sampler": NESTED_SAMPLER,
        "names": problem.names,
        "settings": settings,
        "sampling_seconds": run.sampling_seconds,
        "n_draws": int(run.draws.shape[1]),
        "ess_kish": ess,
        "converged": converged,
        "logz": run.stats.get("logz"),
        "logz_err": run.stats.get("logz_err"),
        "logp_evals": run.logp_evals,
    }
    if failed:
        return {**record, "status": "failed", "reasons": failed}
    flat, weights = run.draws.reshape(-1, run.draws.shape[-1]), run.weights.ravel()
    return {
        **record,
        **metrics.shape_of(flat, weights),  # the decision's geometry
        DRAWS_KEY: resampled(flat, weights),
        "status": "ok",
        "mean": np.asarray(per["mean"]).tolist(),
        "var": np.asarray(per["var"]).tolist(),
        "mean_mcse": per["mcse_mean"].tolist(),
        "var_mcse": per["mcse_var"].tolist(),
    }


def _reference_from_draws(problem, path, threads: int) -> dict:
    """The ``user_draws`` route: the config's ``reference_draws`` file, its draws of the
    model's free variables (constrained) mapped into the model's value variables, gated as a
    NUTS reference is (bulk ESS; rank R-hat over its chains, or over its two halves for one
    chain, diagnosed as two; divergences only where the file records them: an ArviZ file's
    ``sample_stats``)."""
    from essbench import reference_draws as user
    from essbench.config import _variable_shapes

    start = perf_counter()
    names = [rv.name for rv in problem.model.free_RVs]
    drawn = user.load(path, _variable_shapes(problem.model, names))
    values = problem.compile_to_values()(user.flat_variables(drawn))
    finite = np.isfinite(values)
    if not finite.all():
        from essbench.flag_figures import parameter_labels

        labels = parameter_labels(problem.names, problem.shapes, problem.slices)
        bad = [labels[k] for k in np.flatnonzero(~finite.all(axis=0))]
        outside = int((~finite.all(axis=1)).sum())
        return {
            "route": "user_draws",
            "status": "failed",
            "reasons": [
                f"{outside} of {len(values)} draws lie outside the model's support (not"
                f" finite in {', '.join(bad[:3])}): give the model's free variables on their"
                " constrained scale"
            ],
        }
    draws = values.reshape(drawn.chains, drawn.draws, -1)
    if drawn.chains == 1:  # rank R-hat needs two chains: its halves (a drift still shows)
        half = drawn.draws // 2
        draws = draws[:, : 2 * half].reshape(2, half, -1)
    per = metrics.per_parameter(draws, threads)
    summary = metrics.summarize_ess_rhat(per)
    failed = policy.reference_failures(summary, drawn.divergences or 0)
    record = {
        "target": problem.target,
        "dim": problem.dim,
        "route": "user_draws",
        "names": problem.names,
        "reference_draws": str(path),
        "reference_draws_sha256": user.sha256(path),
        "reference_draws_format": drawn.format,
        "n_chains": drawn.chains,
        "n_draws": drawn.draws,
        "divergences": drawn.divergences,
        "sampling_seconds": 0.0,
        "read_seconds": perf_counter() - start,
        **summary,
    }
    return _route_result(record, failed, draws, per)


def _route_result(record: dict, failed: list[str], draws: np.ndarray, per: dict) -> dict:
    """A route's record from its equal-weight ``draws`` (chains, draws, params) in the
    model's value space and their per-parameter diagnostics ``per``: failed with the gates'
    reasons, or its moments, MCSEs, geometry and (under ``DRAWS_KEY``) the draws."""
    if failed:
        return {**record, "status": "failed", "reasons": failed}
    mean = draws.mean(axis=(0, 1))
    return {
        **record,
        **metrics.shape_of(draws.reshape(-1, draws.shape[-1])),  # the decision's geometry
        DRAWS_KEY: draws,
        "status": "ok",
        "mean": mean.tolist(),
        "var": ((draws - mean) ** 2).mean(axis=(0, 1)).tolist(),
        "mean_mcse": per["mcse_mean"].tolist(),
        "var_mcse": per["mcse_var"].tolist(),
    }


# A passing route's draws in its record, (chains, draws, params) in the model's value space:
# the reference rule keeps the truth's route's (kept_draws_path), never in the JSON.
DRAWS_KEY = "_draws"


def resampled(flat: np.ndarray, weights: np.ndarray, seed: int = 20_211_028) -> np.ndarray:
    """Equal-weight draws (1, n, params) from weighted ones (n, params): systematic
    resampling, as many draws as there are weights."""
    w = np.asarray(weights, float) / np.sum(weights)
    n = len(w)
    positions = (np.random.default_rng(seed).random() + np.arange(n)) / n
    index = np.minimum(np.searchsorted(np.cumsum(w), positions), n - 1)
    return flat[index][None]


def kept_draws_path(out_json):
    """Where the reference rule keeps its draws, beside its record ``<options>.json``:
    ``<options>.draws.npz`` (the model's value space, (chains, draws, params)), from which a
    named quantity's truth is mapped through the model (:mod:`essbench.quantities`)."""
    from pathlib import Path

    out_json = Path(out_json)
    return out_json.with_name(out_json.name.removesuffix(".json") + ".draws.npz")


def _keep_reference_draws(path, draws: np.ndarray) -> dict:
    """Write the reference's draws at ``path`` (atomically); the record's ``draws_file``."""
    if path is None:
        return {}
    with io.atomic_path(path) as tmp, open(tmp, "wb") as fh:
        np.savez_compressed(fh, draws=draws)
    return {"draws_file": path.name}


def _reference_from_model(problem, module, settings: dict, threads: int) -> dict:
    """The ``reference_model`` route: NUTS on the target's equivalent model, its draws of
    the model's free variables (each a free variable or a ``pm.Deterministic`` of the same
    name there) mapped into the model's value variables (``tau`` -> ``tau_log__``)."""
    from essbench.problem import problem_of

    start = perf_counter()
    model = module.build_reference(problem.dim, problem.options)
    seconds = perf_counter() - start
    equivalent = problem_of(
        model, problem.target, problem.dim, problem.options, problem.backend, seconds
    )
    return _reference_run(problem, equivalent, "reference_model", settings, threads)


# The reference rule's NUTS runs: their seed, and how far a run short of the ESS gate (and
# of nothing else) is extended, by more chains of the same length: its bulk ESS grows about
# with its number of draws, so the chains it needs are sized from the ESS it has, with a
# margin, up to REFERENCE_MAX_GROWTH times the chains it asked for.
REFERENCE_SEED = 20_211_028
REFERENCE_ESS_MARGIN = 1.25
REFERENCE_MAX_GROWTH = 4


def reference_sampler(problem, settings: dict, threads: int):
    """The NUTS the reference rule runs on ``problem`` and its options: nutpie for a user's
    model that it compiles (the same NUTS, its loop in Rust and Numba instead of Python),
    PyMC's own NUTS for the shipped targets (the sampler their tables were made with) and
    where nutpie cannot run (a model whose ops have no Numba code)."""
    target = registry.target(problem.target)
    nutpie = registry.sampler("nutpie")
    if target.file and not target.LOG_PROB and nutpie.unsupported(target) is None:
        options = {
            **nutpie.DEFAULTS,
            **{k: settings[k] for k in ("tune", "draws", "chains") if k in settings},
            "cores": threads,
            **{k: settings[k] for k in ("target_accept", "max_treedepth") if k in settings},
        }
        return nutpie, options
    return registry.sampler("pymc_nuts"), settings


def _reference_run(problem, sampled, route: str, settings: dict, threads: int) -> dict:
    """NUTS on ``sampled`` (the problem itself, or its reference model), gated; the record
    of moments in ``problem``'s value variables (and, under ``DRAWS_KEY``, its draws), or of
    why the gates failed. A run that fails the ESS gate alone is not thrown away: more
    chains of the same length, as many as its ESS says it lacks, join it (``extended``)."""
    sampler, options = reference_sampler(problem, settings, threads)
    runs = [sampler.run(sampled, options, seed=REFERENCE_SEED)]
    judged = _judge_reference(problem, sampled, runs, threads)
    extra = {}
    only_ess = judged["failed"] and judged["divergences"] <= policy.REFERENCE_MAX_DIVERGENCES
    only_ess = only_ess and judged["gated"]["rhat_max"] < policy.REFERENCE_MAX_RHAT
    ess = judged["gated"]["ess_bulk_min"]
    if only_ess and math.isfinite(ess) and ess > 0:
        chains = int(options["chains"])
        wanted = policy.REFERENCE_MIN_ESS_BULK * REFERENCE_ESS_MARGIN / ess
        more = min(math.ceil(chains * (wanted - 1)), chains * (REFERENCE_MAX_GROWTH - 1))
        runs.append(sampler.run(sampled, {**options, "chains": more}, seed=REFERENCE_SEED + 1))
        extra["extended"] = {"chains_added": more, "ess_bulk_min_before": ess}
        judged = _judge_reference(problem, sampled, runs, threads)
    record = {
        "target": problem.target,
        "dim": problem.dim,
        "route": route,
        "sampler": sampler.NAME,
        "names": problem.names,
        "settings": options,
        "sampling_seconds": sum(run.sampling_seconds for run in runs),
        "divergences": judged["divergences"],
        **judged["extra"],
        **extra,
        **judged["summary"],
    }
    # A failure is a result, not a crash: the study goes on without a truth (load_truth).
    return _route_result(record, judged["failed"], judged["draws"], judged["per"])


def _judge_reference(problem, sampled, runs, threads: int) -> dict:
    """The reference runs' chains together, in ``problem``'s value variables, and their
    gates (a reference model's draws are gated in both spaces)."""
    draws = np.concatenate([run.draws for run in runs], axis=0)
    divergences = sum(int(run.stats.get("divergences", 0)) for run in runs)
    per = metrics.per_parameter(draws, threads)
    summary = metrics.summarize_ess_rhat(per)
    extra = {}
    if sampled is not problem:  # into the model's own parameters; gated there too
        chains, n = draws.shape[:2]
        names = [rv.name for rv in problem.model.free_RVs]
        flat = draws.reshape(chains * n, -1)
        draws = problem.compile_to_values()(sampled.compile_variables(names)(flat))
        draws = draws.reshape(chains, n, -1)
        extra["reference_model_names"] = sampled.names
        extra["reference_model_rhat_max"] = summary["rhat_max"]
        extra["reference_model_ess_bulk_min"] = summary["ess_bulk_min"]
        own = summary
        per = metrics.per_parameter(draws, threads)
        summary = metrics.summarize_ess_rhat(per)
        gated = {
            "rhat_max": max(summary["rhat_max"], own["rhat_max"]),
            "ess_bulk_min": min(summary["ess_bulk_min"], own["ess_bulk_min"]),
        }
    else:
        gated = summary
    return {
        "draws": draws,
        "per": per,
        "summary": summary,
        "gated": gated,
        "extra": extra,
        "divergences": divergences,
        "failed": policy.reference_failures(gated, divergences),
    }
