"""How often each flag fires on exact draws: a perfect sampler's false-positive rates.

Exact independent draws from a target's ``sample_truth``, shaped like a sampler's run
(chains x draws, or walkers x steps for an ensemble), go through the very diagnose path of
every run (:func:`essbench.pipeline.diagnose`); every flag they raise is a false positive.
``benchmarks/flag_calibration.py`` prints the rates over >= 1,000 replicates at the chain
shapes the shipped configs use; ``oracle_table`` gives a study's own rates from its
``exact`` runs (the report shows them).
"""

import numpy as np
import pandas as pd

from essbench import policy, registry
from essbench.aggregate import is_oracle


def exact_record(target: str, dim: int, options: dict, shape, rng, ensemble=False) -> dict:
    """The diagnosed record of one run of exact draws of ``shape`` (chains, draws)."""
    plugin = registry.target(target)
    chains, n = shape
    x = plugin.sample_truth(dim, chains * n, rng, **options)
    draws = np.ascontiguousarray(np.asarray(x, float).reshape(chains, n, -1))
    return diagnosed(target, dim, options, draws, ensemble)


def diagnosed(target: str, dim: int, options: dict, draws, ensemble=False) -> dict:
    """The diagnosed record of a run that drew ``draws`` (chains, draws, params) on
    ``target`` (exact draws, or exact draws with a failure injected: bias_power.py)."""
    from essbench import pipeline

    record = {
        "status": "ok",
        "target": target,
        "dim": dim,
        "sampling_seconds": 1.0,
        "ensemble": ensemble,
    }
    return pipeline.diagnose(record, draws, target_options=options)


def rates(target, dim, options, shape, replicates, seed=0, ensemble=False) -> dict:
    """Per flag: how many of ``replicates`` exact runs raised it (None: not assessable)."""
    rng = np.random.RandomState(seed)
    fired: dict = {flag: 0 for flag in policy.FLAGS}
    for _ in range(replicates):
        record = exact_record(target, dim, options, shape, rng, ensemble)
        for flag in policy.FLAGS:
            value = record.get(flag)
            if value is None or fired[flag] is None:
                fired[flag] = None
            else:
                fired[flag] += bool(value)
    return fired


def upper_bound(fired: int, n: int, level: float = 0.95) -> float:
    """One-sided Clopper-Pearson upper bound of a rate from ``fired`` of ``n``."""
    from scipy.stats import beta

    return 1.0 if fired >= n else float(beta.ppf(level, fired + 1, n - fired))


def oracle_table(runs: pd.DataFrame) -> pd.DataFrame:
    """A study's exact runs: per (target, dim), how many runs and each flag's rate."""
    oracles = [n for n in runs["sampler"].unique() if is_oracle(n)]
    sub = runs[runs["sampler"].isin(oracles) & (runs["status"] == "ok")]
    rows = []
    for (target, dim), group in sub.groupby(["target", "dim"], sort=True):
        row = {"target": target, "dim": int(dim), "n_runs": len(group)}
        for flag in policy.FLAGS:
            values = group[flag].dropna() if flag in group else pd.Series(dtype=bool)
            row[flag] = float(values.astype(bool).mean()) if len(values) else np.nan
        rows.append(row)
    return pd.DataFrame(rows, columns=["target", "dim", "n_runs", *policy.FLAGS])
