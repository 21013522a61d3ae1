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
  ensemble samplers (``rng`` is a ``numpy.random.RandomState``).
"""

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Truth:
    """Known first two moments of every parameter (flattened value-variable order)."""

    mean: np.ndarray
    var: np.ndarray
