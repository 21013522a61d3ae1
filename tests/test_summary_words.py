"""The summary says what happened: every reason a cell is flagged, and well-formed tables for a
study of one sampler."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from test_aggregate import record  # noqa: E402

from essbench import aggregate, report, verdict  # noqa: E402

TIMING = {
    "grad_evals": 100.0,
    "logp_evals": 0.0,
    "compile_seconds": 1.0,
    "warmup_seconds": 0.1,
    "draw_seconds": 0.1,
    "censored": False,
    "ess_goal": float("nan"),
    "unreliable_reason": "",
}


def _flagged(sampler, replicate, cost, reason):
    return (
        record(sampler, 8, replicate, cost, unreliable=bool(reason))
        | TIMING
        | {"unreliable_reason": reason}
    )


def test_the_verdict_names_every_reason_of_every_flagged_run():
    """The first flagged run fails R-hat, the second has divergences, the third both: the
    sentence names both kinds, each at its worst, not only the first run's first reason."""
    recs = [_flagged("emcee", r, 0.05, "") for r in range(3)]
    recs += [
        _flagged("pymc_nuts", 0, 0.001, "rhat=1.043>1.01"),
        _flagged("pymc_nuts", 1, 0.002, "189 divergences"),
        _flagged("pymc_nuts", 2, 0.001, "rhat=1.2>1.01; 12 divergences"),
    ]
    said = verdict.sentences(aggregate.runs_table(recs, "t"), "emcee")
    assert len(said) == 1, said
    assert "3 of 3 of pymc_nuts's runs have an unreliable ESS" in said[0]
    assert "rhat=1.2>1.01 at worst, in 2 runs" in said[0], said[0]
    assert "189 divergences at worst, in 2 runs" in said[0], said[0]


def test_every_reason_keeps_one_of_each_kind():
    text = verdict.every_reason(["chain/tau=3.2<50; rhat=1.05>1.01", "chain/tau=1.5<50"])
    assert text == "chain/tau=1.5<50 at worst, in 2 runs; rhat=1.05>1.01"


def _tables(markdown: str) -> list[list[str]]:
    """The markdown's tables, each as its lines."""
    tables, current = [], []
    for line in markdown.splitlines():
        if line.startswith("|"):
            current.append(line)
        elif current:
            tables.append(current)
            current = []
    return tables + ([current] if current else [])


def test_a_study_of_one_sampler_gets_well_formed_tables():
    recs = [record("pymc_nuts", d, r, 1.0 + r) | TIMING for d in (4, 8) for r in range(3)]
    runs = aggregate.runs_table(recs, "t")
    text = report.summary_markdown("one", "h", runs, aggregate.summary_table(runs), None, None)
    tables = _tables(text)
    assert tables, text
    for table in tables:
        widths = {line.count("|") for line in table}
        assert len(widths) == 1, table  # header, rule and rows have as many cells
        assert all(cell.strip() for cell in table[0].strip("|").split("|")), table[0]
    assert "No ratio: the study runs one sampler (`pymc_nuts`)" in text
    assert "ratio to" not in text
