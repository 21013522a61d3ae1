"""essbench.redo: contended runs are set aside (never deleted) and their batches replanned."""

import datetime as dt

import pytest

from essbench import io, redo


def _study(tmp_path):
    """Two batches of two runs; one run of the first batch was timed under contention."""
    study = tmp_path / "results" / "s"
    records = {}
    for sampler in ("emcee", "nutpie"):
        entries = []
        for rep in (0, 1):
            path = study / "runs" / "banana" / "d2" / sampler / f"r{rep}.json"
            hit = sampler == "emcee" and rep == 1
            io.write_json(
                path,
                {
                    "sampler": sampler,
                    "target": "banana",
                    "replicate": rep,
                    "contended": hit,
                    "contention_reason": "timed under contention: 1.2 cores" if hit else "",
                },
            )
            records[(sampler, rep)] = path
            entries.append({"record": str(path), "settings_hash": "x"})
        io.write_json(study / "batches" / sampler / "n0-1.json", {"runs": entries})
    return study, records


def test_contended_runs_are_moved_aside_and_only_their_batch_is_replanned(tmp_path):
    study, records = _study(tmp_path)
    chosen = redo.plan(study, contended=True)
    assert chosen.records == [records[("emcee", 1)]]
    assert chosen.reasons[records[("emcee", 1)]].startswith("timed under contention")
    assert [m.parent.name for m in chosen.manifests] == ["emcee"]

    aside = redo.apply(study, chosen, now=dt.datetime(2026, 12, 4, 18, tzinfo=dt.UTC))
    assert aside == study / "set_aside" / "20261204T180000Z"
    moved = aside / "runs" / "banana" / "d2" / "emcee" / "r1.json"
    assert io.read_json(moved)["contended"] is True  # kept, not deleted
    assert not records[("emcee", 1)].exists()
    assert records[("emcee", 0)].exists()  # the batch's other run keeps its record
    assert not (study / "batches" / "emcee" / "n0-1.json").exists()
    assert (study / "batches" / "nutpie" / "n0-1.json").exists()
    assert redo.plan(study, contended=True).records == []


def test_a_finished_studys_runs_table_moves_aside_so_snakemake_plans_the_batches(tmp_path):
    study, records = _study(tmp_path)
    table = study / "tables" / "runs.parquet"
    table.parent.mkdir(parents=True)
    table.write_bytes(b"the study's runs table")
    aside = redo.apply(study, redo.plan(study, contended=True))
    assert not table.exists()
    assert (aside / "tables" / "runs.parquet").read_bytes() == b"the study's runs table"
    assert (study / "tables").is_dir()  # the other tables stay where they are


def test_a_sampler_or_target_chooses_runs_and_narrows_contended(tmp_path):
    study, records = _study(tmp_path)
    assert redo.plan(study, samplers=["nutpie"]).records == [
        records[("nutpie", 0)],
        records[("nutpie", 1)],
    ]
    assert redo.plan(study, contended=True, samplers=["nutpie"]).records == []
    assert len(redo.plan(study, targets=["banana"]).records) == 4


def test_the_command_lists_first_and_says_what_to_fix(tmp_path, capsys):
    study, records = _study(tmp_path)
    assert redo.main([str(study), "--contended"]) == 0
    out = capsys.readouterr().out
    assert "1 run(s) in 1 batch(es) would be redone: add --apply" in out
    assert records[("emcee", 1)].exists()  # listing moves nothing
    assert redo.main([str(study)]) == 2
    assert "choose the runs to redo" in capsys.readouterr().err
    assert redo.main([str(tmp_path / "nowhere"), "--contended"]) == 2
    assert "is " in capsys.readouterr().err
    assert redo.main([str(study), "--contended", "--apply"]) == 0
    assert "moved to" in capsys.readouterr().out
    with pytest.raises(FileNotFoundError):
        io.read_json(records[("emcee", 1)])
