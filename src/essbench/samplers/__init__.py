"""Samplers: one module per sampler, all returning :class:`SamplerRun`.

A sampler module defines:

- ``NAME`` (str): the name used in configs;
- ``DESCRIPTION`` (str): one line for the README and the report;
- ``NEEDS_GRADIENT`` (bool): whether the target must be differentiable;
- ``ENSEMBLE`` (bool): whether it moves a set of walkers (then ``walkers(dim, options)``
  returns how many it will use and the config check demands at least ``2 * dim``);
- ``DEFAULTS`` (dict): its options and their default values (a config may override any);
- ``threads(options) -> int``: how many cores one run really keeps busy;
- ``run(problem, options, seed) -> SamplerRun``;
- optionally ``ENV`` (str): the conda env (``envs/<ENV>.yaml``) its runs need, by default
  ``"sampling"`` (the JAX samplers say ``"jax"``), and ``CHOICES`` (dict): the allowed values
  of its string options;
- optionally ``chunks(problem, options, seed)``: a generator for time-to-target-ESS runs
  (:mod:`essbench.target_ess`) that first yields the same :class:`SamplerRun` as ``run``,
  then, for each ``n`` sent to it, a :class:`SamplerRun` of ``n`` more draws of the same
  chains (their draws, seconds and work only: ``compile_seconds = warmup_seconds = 0``).
  Without it, time-to-target runs restart ``run`` with more draws. ``LENGTH_OPTION`` names
  the option holding a run's length when it is neither ``steps`` (ensembles) nor ``draws``.

``run`` must not time import, model build or compilation as sampling: it reports them in
``compile_seconds``, and ``warmup_seconds + draw_seconds`` is the sampling time.
"""

from dataclasses import dataclass, field

import numpy as np


@dataclass
class SamplerRun:
    """What every sampler returns.

    ``draws`` has shape (chains, draws, params): for ensemble samplers the walkers are the
    chains and only the kept (post burn-in) steps are included.
    """

    draws: np.ndarray
    compile_seconds: float
    warmup_seconds: float
    draw_seconds: float
    grad_evals: int
    logp_evals: int
    settings: dict = field(default_factory=dict)
    stats: dict = field(default_factory=dict)
    # Per-draw statistics, arrays of shape (chains, draws) (NUTS: diverging, n_steps, ...),
    # kept with the draws as the ``sample_stats`` group when ``keep_draws`` is on.
    sample_stats: dict = field(default_factory=dict)

    @property
    def sampling_seconds(self) -> float:
        return self.warmup_seconds + self.draw_seconds


def merged_options(module, options: dict | None) -> dict:
    """The sampler's defaults overridden by the config's options."""
    merged = dict(module.DEFAULTS)
    merged.update(options or {})
    return merged
