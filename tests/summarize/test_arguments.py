"""``hpt summarize`` refuses an output it would have to create a folder for, and an empty
``--columns``: exit 2, one line, nothing written (it used to create the folder, even at /)."""

from __future__ import annotations

from pathlib import Path

import pytest
from helpers.summarize_fixtures import write_run, write_sweep

from hpt.summarize.cli import main


@pytest.fixture
def sweep(tmp_path: Path) -> Path:
    s = write_sweep(tmp_path / "sweep", search_space={"optimizer.lr": "interval(1e-4, 1e-1)"})
    write_run(s / "trial_0000", status="COMPLETE", value=0.9)
    return s


def _refused(capsys: pytest.CaptureFixture[str], *argv: str) -> str:
    code = main(list(argv))
    out, err = capsys.readouterr()
    assert code == 2 and out == "", err
    (line,) = err.strip().splitlines()
    assert line.startswith("hpt summarize: error: ")
    return line


@pytest.mark.parametrize("output", ["missing/report.csv", "missing/deeper/report.md"])
def test_an_output_in_a_missing_folder_is_refused_and_no_folder_made(
    sweep: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], output: str
) -> None:
    line = _refused(capsys, str(sweep), "-o", str(tmp_path / output))
    assert f"folder {tmp_path / Path(output).parent} does not exist" in line
    assert not (tmp_path / "missing").exists()


def test_an_output_in_an_existing_folder_is_written(
    sweep: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main([str(sweep), "-o", str(tmp_path / "report.csv")]) == 0
    assert (tmp_path / "report.csv").read_text().startswith("run")


@pytest.mark.parametrize("columns", ["", " ", ",", " , "])
def test_empty_columns_are_refused(
    sweep: Path, capsys: pytest.CaptureFixture[str], columns: str
) -> None:
    assert "--columns needs at least one key" in _refused(capsys, str(sweep), "--columns", columns)
