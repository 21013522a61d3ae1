"""Targets: one module per target distribution.

A target module defines:

- ``NAME`` (str): the name used in configs;
- ``DESCRIPTION`` (str): one line for the README and the report;
- ``GRADIENT`` (bool): whether its log-density has gradients (PyTensor can differentiate it);
- ``MIN_DIM`` / ``MAX_DIM`` (int or None): the dimensions it supports;
- ``build_model(dim, **options) -> pymc.Model``: the model (import PyMC inside the function);
- ``truth(dim, **options) -> essbench.targets.Truth``: the known mean and variance of every
  parameter, in the order of the flattened value variables;
- ``initial_points(dim, n, rng, **options) -> ndarray (n, dim)``: starting points for
  ensemble samplers (``rng`` is a ``numpy.random.RandomState``);
- either ``truth(dim, **options) -> Truth`` with exact moments and ``sample_truth(dim, n,
  rng, **options)`` giving independent exact draws (tests check one against the other), or
  ``TRUTH = "reference"`` and ``REFERENCE`` (NUTS settings): the ``reference`` rule then
  computes the moments once, gated (R-hat < 1.01, no divergences, bulk ESS > 10,000).

Parameters are the flattened value variables, i.e. the unconstrained space every sampler
moves in (for a positive parameter, its logarithm).
"""

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Truth:
    """Known first two moments of every parameter (flattened value-variable order).

    Reference truths carry the Monte Carlo standard errors of their moments (zero for
    analytic truths); bias z-scores add them in quadrature to the run's own MCSE.
    """

    mean: np.ndarray
    var: np.ndarray
    mean_mcse: np.ndarray | None = None
    var_mcse: np.ndarray | None = None

    def mcse(self):
        zeros = np.zeros_like(self.mean)
        return (
            zeros if self.mean_mcse is None else np.asarray(self.mean_mcse),
            zeros if self.var_mcse is None else np.asarray(self.var_mcse),
        )


def is_reference(module) -> bool:
    return getattr(module, "TRUTH", "analytic") == "reference"


def load_truth(target: str, dim: int, options: dict, reference_json=None) -> Truth:
    """The target's truth: analytic, or read from the reference rule's output."""
    import json
    from pathlib import Path

    from essbench import registry

    module = registry.target(target)
    if not is_reference(module):
        return module.truth(dim, **options)
    if not reference_json:
        raise ValueError(f"target {target} needs its reference moments (the reference rule)")
    ref = json.loads(Path(reference_json).read_text())
    return Truth(
        mean=np.array(ref["mean"]),
        var=np.array(ref["var"]),
        mean_mcse=np.array(ref["mean_mcse"]),
        var_mcse=np.array(ref["var_mcse"]),
    )
