"""One sampler used the way its own documentation shows, on the clock configs' target, as
a plain script: no Snakemake, no essbench run code (essbench is only asked for the
config's options and walker count). Prints one JSON line: sampling seconds, mean bulk ESS
(nested samplers: Kish's ESS of the weights) and ms per ESS.

Every library gets one short throw-away call in the same process before its timed call,
as the tutorial gives PyMC (``pm.sample(tune=1, draws=1, chains=1)``): compilation (JAX's
jit, Stan's model build, PyMC's functions) is never timed. The target is N(0, I_d), written
in each library's own modelling language (PyMC model, Stan program, NumPyro model, a JAX
function); the gradient-free samplers call the PyMC model's compiled log density, one
point at a time, as the tutorial's emcee does (and as essbench's do), and the nested
samplers the uniform prior on the box of ``gaussian_iid.BOX_SDS`` standard deviations that
essbench's use.

The clock is around sampling only (warm-up and draws): a clock around the call that
samples, with everything that call needs done before it (JAX: the chains' keys, whose
first ``split`` and indexing compile), or the library's own clock where the call does more
than sample (Stan: its printed ``Elapsed Time``; PyMC: ``sampling_time``, its clock around
the sampling loop, which ``pm.sample`` reports in the posterior's attributes).

    python benchmarks/fidelity_standalone.py --sampler NAME --config FILE [--seed N]
"""

import argparse
import json
import os
import sys
import time
from pathlib import Path

# One thread for BLAS and OpenMP, as essbench's run jobs set them, before NumPy loads them
# (every cell of the clock configs runs on one core).
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS"):
    os.environ.setdefault(_var, "1")
# XLA's CPU thread pool, one thread, as essbench's JAX jobs start it (essbench.samplers._jax):
# without it a JAX chain spreads over every core and beats a one-core pipeline run.
os.environ["XLA_FLAGS"] = (
    os.environ.get("XLA_FLAGS", "") + " --xla_cpu_multi_thread_eigen=false"
).strip()

import numpy as np  # noqa: E402
import yaml  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))


def _ess_bulk_mean(draws: np.ndarray) -> float:
    """ArviZ's bulk ESS, averaged over parameters; ``draws`` (chains, draws, params)."""
    from arviz_stats.base import array_stats

    return float(np.mean(array_stats.ess(draws, chain_axis=0, draw_axis=1, method="bulk")))


def _kish(log_w: np.ndarray) -> float:
    w = np.exp(log_w - np.max(log_w))
    return float(w.sum() ** 2 / np.sum(w**2))


def _pymc_model(dim: int):
    import pymc as pm

    with pm.Model() as model:
        pm.Normal("x", 0.0, 1.0, shape=dim)
    return model


def _pm_sample(opts, dim, seed, step=None):
    import pymc as pm

    model = _pymc_model(dim)
    with model:
        kwargs = {"step": step()} if step else {"nuts_sampler": "pymc"}
        pm.sample(tune=1, draws=1, chains=1, progressbar=False, random_seed=seed, **kwargs)
        kwargs = {"step": step()} if step else {"nuts_sampler": "pymc"}
        idata = pm.sample(
            tune=opts["tune"],
            draws=opts["draws"],
            chains=opts["chains"],
            cores=opts["cores"],
            progressbar=False,
            random_seed=seed,
            **kwargs,
        )
    # PyMC's own clock around its sampling loop (the call also compiles the step's
    # functions, makes the InferenceData and runs the convergence checks).
    seconds = float(idata.posterior.attrs["sampling_time"])
    x = np.asarray(idata.posterior["x"].values)
    return seconds, _ess_bulk_mean(x)


def pymc_nuts(opts, dim, seed):
    return _pm_sample(opts, dim, seed)


def pymc_metropolis(opts, dim, seed):
    import pymc as pm

    return _pm_sample(opts, dim, seed, step=pm.Metropolis)


def pymc_demetropolisz(opts, dim, seed):
    import pymc as pm

    return _pm_sample(opts, dim, seed, step=pm.DEMetropolisZ)


def nutpie(opts, dim, seed):
    import nutpie as np_

    compiled = np_.compile_pymc_model(_pymc_model(dim))
    common = dict(chains=opts["chains"], cores=opts["cores"], progress_bar=False)
    np_.sample(compiled, tune=10, draws=10, seed=seed + 1, **common)
    start = time.perf_counter()
    trace = np_.sample(compiled, tune=opts["tune"], draws=opts["draws"], seed=seed, **common)
    seconds = time.perf_counter() - start
    return seconds, _ess_bulk_mean(np.asarray(trace.posterior["x"].values))


STAN = "data { int<lower=1> d; } parameters { vector[d] x; } model { x ~ std_normal(); }"


def _stan_elapsed(fit) -> float:
    """Stan's own clock: the sum over chains of the ``Elapsed Time`` it prints for the
    warm-up and the sampling loops (pystan's console lines, its logger's messages)."""
    import re

    total = 0.0
    for output in fit.stan_outputs:
        for line in output.splitlines():
            if b'"logger"' in line and b" seconds (" in line:
                message = json.loads(line)["values"][0]
                found = re.search(r"([0-9.eE+-]+) seconds \((Warm-up|Sampling)\)", message)
                total += float(found.group(1)) if found else 0.0
    return total


def stan_nuts(opts, dim, seed):
    """pystan's documented use, ``stan.build`` then ``posterior.sample``, timed by Stan's own
    clock (its printed ``Elapsed Time`` of warm-up and sampling): a clock around
    ``posterior.sample`` would add httpstan's server, the chain process and pystan's polling.
    The model is built with the pipeline run's ``random_seed`` (as essbench seeds it), so both
    ways draw the same chain: one chain's ESS on N(0, I_50) scatters by +-30% between seeds,
    and 12 repeats of differently seeded pairs left an ESS factor of 1.21 around a seconds
    factor of 1.06. httpstan answers a request it has answered before (a rerun of this script
    with the same seed) from its fit cache, without sampling: the model's cached fits are
    deleted first."""
    import shutil

    import httpstan.cache
    import stan

    from essbench.stan import STAN_SEED_MODULUS

    posterior = stan.build(STAN, data={"d": dim}, random_seed=int(seed) % STAN_SEED_MODULUS)
    shutil.rmtree(httpstan.cache.model_directory(posterior.model_name) / "fits", True)
    posterior.sample(num_chains=opts["chains"], num_warmup=10, num_samples=10)
    fit = posterior.sample(
        num_chains=opts["chains"], num_warmup=opts["tune"], num_samples=opts["draws"]
    )
    x = fit["x"]  # (d, draws * chains), chains in blocks
    draws = x.reshape(dim, opts["chains"], opts["draws"]).transpose(1, 2, 0)
    return _stan_elapsed(fit), _ess_bulk_mean(draws)


def _numpyro_chains(kernel, x0, opts, seed):
    """NumPyro's NUTS kernel (its ``MCMCKernel`` API: ``init``, then ``sample`` per
    iteration) stepped in one jitted ``lax.scan`` per chain, compiled by a throw-away call.
    ``MCMC.run`` is not timed: it traces and compiles inside every call (measured: about
    1.3 s of CPU per call at d = 50, also with ``jit_model_args`` or ``warmup`` + ``run``),
    which no pipeline or user would count as sampling."""
    import jax

    n_warm, n_draws = opts["tune"], opts["draws"]

    def one_chain(key):
        state = kernel.init(key, n_warm, x0, None, None)

        def step(state, _):
            state = kernel.sample(state, (), {})
            return state, state.z

        return jax.lax.scan(step, state, None, length=n_warm + n_draws)[1][n_warm:]

    run = jax.jit(one_chain)
    # The chains' keys before the clock: the first ``split`` of a shape and the first indexing
    # of the keys compile too (measured: 0.09 s of CPU, 7x a 50-d chain of 2,000 steps).
    keys = list(jax.random.split(jax.random.PRNGKey(seed), opts["chains"]))
    jax.block_until_ready(run(jax.random.PRNGKey(seed + 1)))  # compiles
    start = time.perf_counter()
    chains = [jax.block_until_ready(run(k)) for k in keys]
    seconds = time.perf_counter() - start
    return seconds, _ess_bulk_mean(np.stack([np.asarray(c) for c in chains]))


def numpyro_nuts(opts, dim, seed):
    import jax

    jax.config.update("jax_enable_x64", True)
    import jax.numpy as jnp
    from numpyro.infer import NUTS

    def potential(x):  # N(0, I_d), as the model x ~ Normal(0, 1).expand([d]) gives it
        return 0.5 * jnp.sum(x**2)

    kernel = NUTS(potential_fn=potential, target_accept_prob=opts["target_accept"])
    x0 = jax.random.uniform(jax.random.PRNGKey(seed), (dim,), minval=-1.0, maxval=1.0)
    return _numpyro_chains(kernel, x0, opts, seed)


def blackjax_nuts(opts, dim, seed):
    import jax

    jax.config.update("jax_enable_x64", True)
    import blackjax
    import jax.numpy as jnp

    def logdensity(x):
        return -0.5 * jnp.sum(x**2)

    def one_chain(key, x0):
        warm_key, draw_key = jax.random.split(key)
        adaptation = blackjax.window_adaptation(
            blackjax.nuts, logdensity, target_acceptance_rate=opts["target_accept"]
        )
        (state, params), _ = adaptation.run(warm_key, x0, num_steps=opts["tune"])
        kernel = blackjax.nuts(logdensity, **params).step

        def step(state, key):
            state, _ = kernel(key, state)
            return state, state.position

        return jax.lax.scan(step, state, jax.random.split(draw_key, opts["draws"]))[1]

    run = jax.jit(one_chain)
    key = jax.random.PRNGKey(seed)
    x0 = jax.random.uniform(key, (dim,), minval=-1.0, maxval=1.0)
    keys = list(jax.random.split(jax.random.PRNGKey(seed), opts["chains"]))  # as NumPyro's
    jax.block_until_ready(run(jax.random.PRNGKey(seed + 1), x0))  # compiles
    start = time.perf_counter()
    chains = [jax.block_until_ready(run(k, x0)) for k in keys]
    seconds = time.perf_counter() - start
    return seconds, _ess_bulk_mean(np.stack([np.asarray(c) for c in chains]))


def _compiled_logp(dim):
    func = _pymc_model(dim).compile_logp()
    return lambda theta: func({"x": theta})


def _walkers(name, opts, dim):
    from essbench import registry

    return registry.sampler(name).walkers(dim, opts)


def emcee(opts, dim, seed):
    import emcee as em

    logp, nwalkers = _compiled_logp(dim), _walkers("emcee", opts, dim)
    rng = np.random.default_rng(seed)
    em.EnsembleSampler(nwalkers, dim, logp).run_mcmc(rng.standard_normal((nwalkers, dim)), 5)
    sampler = em.EnsembleSampler(nwalkers, dim, logp)
    start = time.perf_counter()
    state = sampler.run_mcmc(rng.standard_normal((nwalkers, dim)), opts["burn"])
    sampler.run_mcmc(state, opts["steps"])
    seconds = time.perf_counter() - start
    chain = np.swapaxes(sampler.get_chain(discard=opts["burn"]), 0, 1)
    return seconds, _ess_bulk_mean(chain)


def zeus(opts, dim, seed):
    import zeus as z

    logp, nwalkers = _compiled_logp(dim), _walkers("zeus", opts, dim)
    rng = np.random.default_rng(seed)
    np.random.seed(seed)
    z.EnsembleSampler(nwalkers, dim, logp, verbose=False).run_mcmc(
        rng.standard_normal((nwalkers, dim)), 5, progress=False
    )
    sampler = z.EnsembleSampler(nwalkers, dim, logp, verbose=False)
    start = time.perf_counter()
    sampler.run_mcmc(
        rng.standard_normal((nwalkers, dim)), opts["burn"] + opts["steps"], progress=False
    )
    seconds = time.perf_counter() - start
    chain = np.swapaxes(sampler.get_chain(discard=opts["burn"]), 0, 1)
    return seconds, _ess_bulk_mean(chain)


def _box(dim):
    from essbench.targets.gaussian_iid import BOX_SDS

    return lambda u: BOX_SDS * (2.0 * u - 1.0)


def dynesty(opts, dim, seed):
    import dynesty as dy

    logp, transform = _compiled_logp(dim), _box(dim)
    dy.NestedSampler(logp, transform, dim, nlive=25, rstate=np.random.default_rng(1)).run_nested(
        maxcall=2000, print_progress=False
    )
    sampler = dy.NestedSampler(
        logp, transform, dim, nlive=opts["nlive"], rstate=np.random.default_rng(seed)
    )
    start = time.perf_counter()
    sampler.run_nested(dlogz=opts["dlogz"], print_progress=False)
    seconds = time.perf_counter() - start
    results = sampler.results
    return seconds, _kish(results.logwt)


def nautilus(opts, dim, seed):
    import nautilus as na

    func = _pymc_model(dim).compile_logp()
    transform = _box(dim)

    def likelihood(x):  # nautilus's vectorized form: many points at once
        return np.array([func({"x": row}) for row in np.atleast_2d(x)])

    def make(n_live, s):
        return na.Sampler(
            transform,
            likelihood,
            n_dim=dim,
            n_live=n_live,
            n_networks=opts["n_networks"],
            vectorized=True,
            seed=s,
        )

    make(50, 1).run(n_eff=50, n_like_max=2000, verbose=False)
    sampler = make(opts["n_live"], seed)
    start = time.perf_counter()
    # The config's discard_exploration (essbench's default: True, as nautilus recommends for
    # unbiased estimates); nautilus's own default keeps the exploration's points, whose
    # weights raised Kish's ESS by half (the ESS ratio 0.65 of fidelity.txt).
    sampler.run(n_eff=opts["n_eff"], discard_exploration=opts["discard_exploration"], verbose=False)
    seconds = time.perf_counter() - start
    _, log_w, _ = sampler.posterior()
    return seconds, _kish(np.asarray(log_w))


# --- a plain log_prob (clocks_logprob.yaml): the user's JAX function, as each library takes it


def _log_prob_file(study):
    import importlib.util

    entry = next(iter(study["targets"].values()))
    spec = importlib.util.spec_from_file_location("user_log_prob", entry["file"])
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def logprob_numpyro_nuts(opts, module, seed):
    """NumPyro's NUTS on ``potential_fn`` = -log_prob (its documented way to sample a plain
    density), stepped as :func:`numpyro_nuts`."""
    import jax

    jax.config.update("jax_enable_x64", True)
    from numpyro.infer import NUTS

    def potential(x):
        return -module.log_prob(x)

    kernel = NUTS(potential_fn=potential, target_accept_prob=opts["target_accept"])
    x0 = jax.numpy.asarray(module.initial(np.random.default_rng(seed), 1)[0])
    return _numpyro_chains(kernel, x0, opts, seed)


def logprob_emcee(opts, module, seed):
    """emcee calling the jitted function per walker, as an astronomer's script does."""
    import emcee as em
    import jax

    jax.config.update("jax_enable_x64", True)
    jitted = jax.jit(module.log_prob)

    def log_prob(theta):
        return float(jitted(theta))

    nwalkers = _walkers("emcee", opts, module.NDIM)
    rng = np.random.default_rng(seed)
    em.EnsembleSampler(nwalkers, module.NDIM, log_prob).run_mcmc(module.initial(rng, nwalkers), 5)
    sampler = em.EnsembleSampler(nwalkers, module.NDIM, log_prob)
    start = time.perf_counter()
    state = sampler.run_mcmc(module.initial(rng, nwalkers), opts["burn"])
    sampler.run_mcmc(state, opts["steps"])
    seconds = time.perf_counter() - start
    chain = np.swapaxes(sampler.get_chain(discard=opts["burn"]), 0, 1)
    return seconds, _ess_bulk_mean(chain)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sampler", required=True)
    parser.add_argument("--config", required=True)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    from essbench import config as ebconfig

    study = ebconfig.validate(yaml.safe_load(Path(args.config).read_text()))
    opts = ebconfig.sampler_options(study, args.sampler)
    if "file" in next(iter(study["targets"].values())):  # a plain log_prob file
        module = _log_prob_file(study)
        seconds, ess = globals()[f"logprob_{args.sampler}"](opts, module, args.seed)
    else:
        dim = ebconfig.target_dims(study, next(iter(study["targets"])))[0]
        seconds, ess = globals()[args.sampler](opts, dim, args.seed)
    print(json.dumps({"seconds": seconds, "ess": ess, "ms_per_ess": 1e3 * seconds / ess}))


if __name__ == "__main__":
    main()
