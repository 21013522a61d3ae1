"""essbench: cost per effective sample of MCMC samplers, measured reproducibly.

The package holds all logic (targets, samplers, metrics, aggregation, plots, reports);
the Snakemake workflow only wires files together through thin scripts in ``scripts/``.
Importing this package (and :mod:`essbench.config`) must stay cheap: PyMC, PyTensor and
emcee are imported lazily inside the functions that need them.
"""

__version__ = "0.1.0"
