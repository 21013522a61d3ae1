"""The tutorial's comparison as a plain script (no Snakemake, no essbench).

Follows the exoplanet tutorial line by line, with two updates for today's stack:
``pmx.utils.Evaluator(model.logp(), model=model)`` becomes ``model.compile_logp()`` (the same
compiled PyMC log-density called once per walker), and ``nuts_sampler="pymc"`` is explicit.
One setting is made explicit to match ``config/tutorial.yaml``: ``cores`` (default 2). The tutorial
leaves it to PyMC, whose default is ``min(4, cpu_count // 2)``: 1 on a 2-CPU machine, where
the two chains then run one after the other instead of in parallel.
Costs use ArviZ's bulk ESS averaged over the 50 parameters, as the tutorial does (emcee: the
5000 kept steps, walkers as chains). Prints one JSON line.

    python benchmarks/tutorial_standalone.py [--seed N] [--cores N]
"""

import argparse
import json
import time

import arviz as az
import emcee
import numpy as np
import pymc as pm


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--cores", type=int, default=2, help="pm.sample's cores")
    args = parser.parse_args()
    np.random.seed(args.seed)

    with pm.Model() as model:
        pm.Normal("x", shape=50)
        pm.sample(tune=1, draws=1, chains=1, progressbar=False, nuts_sampler="pymc")
        start = time.time()
        pymc_trace = pm.sample(
            tune=1000,
            draws=1000,
            chains=2,
            cores=args.cores,
            progressbar=False,
            nuts_sampler="pymc",
        )
        pymc_time = time.time() - start
    pymc_ess = float(np.mean(az.ess(pymc_trace, method="bulk")["x"].values))

    func = model.compile_logp()

    def logp(theta):
        return func({"x": theta})

    init = np.random.randn(124, 50)
    nwalkers, ndim = init.shape
    sampler = emcee.EnsembleSampler(nwalkers, ndim, logp)
    start = time.time()
    state = sampler.run_mcmc(init, 1000)
    sampler.run_mcmc(state, 5000)
    emcee_time = time.time() - start
    chain = np.swapaxes(sampler.get_chain(discard=1000), 0, 1)  # walkers as chains
    from arviz_stats.base import array_stats

    emcee_ess = float(np.mean(array_stats.ess(chain, chain_axis=0, draw_axis=1, method="bulk")))
    print(
        json.dumps(
            {
                "pymc_nuts": {
                    "seconds": pymc_time,
                    "ess_bulk_mean": pymc_ess,
                    "ms_per_ess": 1e3 * pymc_time / pymc_ess,
                },
                "emcee": {
                    "seconds": emcee_time,
                    "ess_bulk_mean": emcee_ess,
                    "ms_per_ess": 1e3 * emcee_time / emcee_ess,
                },
            }
        )
    )


if __name__ == "__main__":
    main()
