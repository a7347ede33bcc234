"""Outputs never overwrite records (``hpt.outputs``): ``hpt export -o`` and its sidecar,
``hpt predict -o``, ``hpt eval --json`` and ``hpt summarize -o/--html`` refuse, with exit 2
and one line naming the file, a path that would replace a run's or sweep's own files or the
command's own input; ``hpt predict -o -`` writes CSV to stdout."""

from __future__ import annotations

import hashlib
import io
import json
import shutil
from pathlib import Path

import pandas as pd
import pytest
from helpers.tiny_run import hpt_in_process, train_tiny_run


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The tiny run, and a sweep dir around a copy of it (sweep.json, its journal)."""
    made = train_tiny_run(tmp_path_factory.mktemp("tiny"))
    sweep = made["run"].parent / "sweep"
    shutil.copytree(made["run"], sweep / "trial_0000")
    (sweep / "sweep.json").write_text(json.dumps({"n_trials": 1}))
    (sweep / "study.journal").write_bytes(b'{"op_code": 0}\n')
    return {**made, "sweep": sweep}


def _hashes(*folders: Path) -> dict[str, str]:
    return {
        str(p): hashlib.sha256(p.read_bytes()).hexdigest()
        for folder in folders
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def _refused(code: int, err: str, name: str) -> None:
    lines = err.strip().splitlines()
    assert code == 2 and len(lines) == 1 and name in lines[0], err


def test_export_never_replaces_a_record_or_a_json_it_did_not_write(
    tiny: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run, sweep = tiny["run"], tiny["sweep"]
    foreign = tmp_path / "model.json"
    foreign.write_text('{"mine": true}')
    before = _hashes(run, sweep, tmp_path)
    cases = {
        run / "result.pt": "result.json",  # the sidecar would replace result.json
        sweep / "sweep.pt": "sweep.json",
        run / "checkpoints" / "best.pt": "checkpoints/best.pt",
        sweep / "trial_0000" / "preprocessing.pt": "preprocessing.json",
        tmp_path / "model.pt": "model.json exists and is not one hpt export wrote",
    }
    for out, name in cases.items():
        code, _, err = hpt_in_process(capsys, "export", run, "-o", out)
        _refused(code, err, name)
    assert _hashes(run, sweep, tmp_path) == before
    # its own sidecar is rewritten: exporting twice to one name works
    for _ in range(2):
        code, _, err = hpt_in_process(capsys, "export", run, "-o", tmp_path / "again.pt")
        assert code == 0, err
    assert json.loads((tmp_path / "again.json").read_text())["written_by"] == "hpt export"


def test_predict_and_eval_never_write_over_a_record_or_their_input(
    tiny: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run, new = tiny["run"], tmp_path / "new.csv"
    shutil.copy(tiny["new"], new)
    before = _hashes(run, tmp_path)
    for out, name in {
        run / "metrics.csv": "metrics.csv, a record of",
        run / ".hydra" / "p.csv": ".hydra/p.csv",
        new: "own input",
    }.items():
        code, _, err = hpt_in_process(capsys, "predict", run, new, "-o", out)
        _refused(code, err, name)
    code, _, err = hpt_in_process(capsys, "eval", run, "--json", run / "result.json")
    _refused(code, err, "result.json, a record of")
    assert _hashes(run, tmp_path) == before


def test_predict_to_stdout_writes_the_csv_it_would_write_to_a_file(
    tiny: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = hpt_in_process(capsys, "predict", tiny["run"], tiny["new"], "-o", "-")
    assert code == 0 and "20 predictions written to stdout" in err
    code, _, _ = hpt_in_process(
        capsys, "predict", tiny["run"], tiny["new"], "-o", tmp_path / "p.csv"
    )
    assert code == 0
    pd.testing.assert_frame_equal(pd.read_csv(io.StringIO(out)), pd.read_csv(tmp_path / "p.csv"))


def test_summarize_never_writes_over_a_journal_a_result_or_its_input(
    tiny: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    sweep = tiny["sweep"]
    before = _hashes(sweep)
    for flag, out, name in (
        ("--html", sweep / "study.journal", "study.journal, a record of"),
        ("-o", sweep / "trial_0000" / "result.json", "result.json, a record of"),
        ("-o", sweep / "search.yaml", "search.yaml"),
        ("--html", sweep / "trial_0000" / "checkpoints" / "r.html", "checkpoints/r.html"),
    ):
        code, _, err = hpt_in_process(capsys, "summarize", sweep, flag, out)
        _refused(code, err, name)
    listed = tmp_path / "result.json"  # a run's result.json given as the input itself
    shutil.copy(sweep / "trial_0000" / "result.json", listed)
    code, _, err = hpt_in_process(capsys, "summarize", sweep, listed, "-o", listed)
    _refused(code, err, "own input")
    assert _hashes(sweep) == before


def test_an_output_at_a_folder_under_a_file_or_on_a_full_disk_is_one_line(
    tiny: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run, new = tiny["run"], tiny["new"]
    (tmp_path / "folder.csv").mkdir()
    (tmp_path / "file").write_text("a file")
    (tmp_path / "full.csv").symlink_to("/dev/full")  # every write: No space left on device
    for command, code, message in (
        (["predict", run, new, "-o", tmp_path / "folder.csv"], 2, "is a directory"),
        (["predict", run, new, "-o", tmp_path / "file" / "p.csv"], 2, "file is not a folder"),
        (["export", run, "-o", tmp_path / "file" / "m.pt"], 2, "file is not a folder"),
        (["eval", run, "--json", tmp_path / "file" / "m.json"], 2, "file is not a folder"),
        (["predict", run, new, "-o", tmp_path / "full.csv"], 1, "No space left on device"),
    ):
        got, _, err = hpt_in_process(capsys, *command)
        lines = err.strip().splitlines()
        assert got == code and len(lines) == 1 and message in lines[0], (command, err)
    assert (tmp_path / "file").read_text() == "a file"
