"""Samplers: one module per sampler, all returning :class:`SamplerRun`.

A sampler module declares everything about itself (the registry gives the rest of the code
these declarations, and the shared rule for an optional one a module leaves out):

- ``NAME`` (str): the name used in configs (a file outside the package may leave it out:
  the config's name is used);
- ``DESCRIPTION`` (str): one line for the README and the report;
- ``NEEDS_GRADIENT`` (bool): whether the target must be differentiable;
- ``ENSEMBLE`` (bool): whether it moves a set of walkers (then ``walkers(dim, options)``
  returns how many it will use and the config check demands at least ``2 * dim``);
- ``OPTIONS``: its options, each an :class:`essbench.options.Option` (name, type, default,
  allowed range or choices, meaning): defaults, config checks and ``config/README.md`` come
  from them;
- ``run(problem, options, seed) -> SamplerRun``;
- ``PACKAGES`` (distribution names whose versions go into every run's provenance),
  ``ENV`` (the conda env ``envs/<ENV>.yaml`` its runs need; shared rule ``"sampling"``),
  ``LENGTH_OPTION`` / ``WARMUP_OPTION`` (the options holding a run's kept length and its
  warm-up: ESS-goal runs grow the first, memory requests count both), ``LENGTH_UNIT``
  (what the length counts, for a censored run's reason: shared rule "draws per chain",
  "steps per walker" for ensembles; dynesty "live points"),
  ``TEXTBOOK_ALPHA`` (the textbook d-scaling exponent of its cost per ESS, or None),
  ``COLOR`` and ``MARKER`` (its colour and marker in every figure: figures never give two
  samplers one colour, see :func:`essbench.plots.colours`);
- optionally ``MIN_DIM`` (int): the smallest dimension it runs at (nautilus: 2); the
  config check refuses smaller ones;
- optionally ``unsupported(target) -> str | None``: why it cannot run on a target (a short
  phrase; the config check refuses the pair), besides the shared gradient rule;
- ``BACKEND`` (shared rule None: the study's ``backend``): the PyTensor backend it always
  compiles the model with (nutpie ``"numba"``, NumPyro and BlackJAX ``"jax"``); the config
  check refuses it on a target whose ops do not compile with it (the target's ``BACKENDS``);
- ``RUNS_LOG_PROB`` (shared rule False): it runs a target given as a plain ``log_prob``
  function (:mod:`essbench.logprob`, whose problem has ``model = None``) through the
  problem's ``compile_logp``/``compile_logp_batched``, the JAX log density of
  :func:`essbench.samplers._jax.flat_logdensity` or a nested prior; the others are refused
  on such a target ("needs a PyMC model");
- optionally ``threads(options) -> int``: how many cores one run keeps busy (shared rule:
  ``min(chains, cores)`` when it has those options, else 1);
- optionally ``VARIANTS``: other names for the same module with other defaults
  (``{"emcee_vectorized": {"description": ..., "defaults": {"vectorize": True}, "color":
  ..., "marker": ...}}``);
- optionally ``unsupported(target) -> str | None``: why it cannot run on a target (the
  config check refuses the pair with that phrase), and ``STAN_MODEL`` (shared rule False):
  it runs the target's Stan program, which the workflow's ``compile_stan`` rule builds first;
- optionally ``chunks(problem, options, seed)``: a generator for ESS-goal runs
  (:mod:`essbench.ess_goal`) that first yields the same :class:`SamplerRun` as ``run``,
  then, for each ``n`` sent to it, a :class:`SamplerRun` of ``n`` more draws of the same
  chains (their draws, seconds and work only: ``compile_seconds = warmup_seconds = 0``).
  Without it, time-to-target runs restart ``run`` with more draws.

An importance-weighted sampler (nested sampling) returns its draws as one chain with their
``weights`` (shape (chains, draws), summing to 1): its runs are diagnosed with Kish's ESS of
the weights and weighted estimates (see :func:`essbench.pipeline.diagnose`).

``run`` must not time import, model build or compilation as sampling: it reports them in
``compile_seconds``, and ``warmup_seconds + draw_seconds`` is the sampling time. What it
returns in ``settings`` and ``stats`` enters the run record as ``option_<name>`` and
``stat_<name>`` (never over a core field).
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
    # Importance weights (chains, draws), summing to 1, for weighted samplers; None: every
    # draw counts once (a Markov chain or exact draws).
    weights: np.ndarray | None = None

    @property
    def sampling_seconds(self) -> float:
        return self.warmup_seconds + self.draw_seconds


def merged_options(plugin, options: dict | None) -> dict:
    """The sampler's declared defaults overridden by ``options``."""
    merged = dict(plugin.DEFAULTS)
    merged.update(options or {})
    return merged
