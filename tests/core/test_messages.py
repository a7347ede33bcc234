"""The first hour's traps (issue 21): what a new user types wrong gets one line that names
the fix, and a run says what it is doing and ends with its test metrics."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from helpers import REPO, run_cli


@pytest.mark.parametrize(
    ("override", "says"),
    [
        ("+epochs=3", "epochs is not a setting (did you mean trainer.epochs?)"),
        ("+lr=0.1", "lr is not a setting (did you mean optimizer.lr?)"),
        ("+fooo=1", "fooo is not a setting (see hpt train --help)"),
    ],
)
def test_a_top_level_key_nothing_reads_is_refused_with_did_you_mean(
    tmp_path: Path, override: str, says: str
) -> None:
    r = run_cli(["train", "data=mnist_tiny", override], tmp_path)
    assert r.rc == 2
    assert r.stderr.strip().splitlines() == [f"hpt train: error: {says}."]
    assert not r.run_dir.exists()  # nothing written


def _table(tmp_path: Path, n_columns: int) -> Path:
    names = [f"feature_{i}" for i in range(n_columns - 1)] + ["quality"]
    rows = [",".join(str((i * j) % 7) for j in range(n_columns)) for i in range(40)]
    path = tmp_path / "wines.csv"
    path.write_text(",".join(names) + "\n" + "\n".join(rows) + "\n")
    return path


def test_a_wrong_target_column_lists_every_column_with_did_you_mean(tmp_path: Path) -> None:
    path = _table(tmp_path, 14)  # the real target is the last of 14 columns
    r = run_cli(["train", "data=table", f"data.path={path}", "data.target=qualty"], tmp_path)
    assert r.rc == 2
    line = r.stderr.strip()
    assert "did you mean quality?" in line and "feature_12, quality)" in line
    assert len(line.splitlines()) == 1


def test_a_wrong_target_among_many_columns_shows_the_closest_and_the_last(tmp_path: Path) -> None:
    path = _table(tmp_path, 60)
    r = run_cli(["train", "data=table", f"data.path={path}", "data.target=label"], tmp_path)
    assert r.rc == 2
    assert "60 columns; the closest:" in r.stderr and "quality" in r.stderr


def test_a_missing_class_in_an_existing_module_is_named_with_did_you_mean(tmp_path: Path) -> None:
    (tmp_path / "mynet.py").write_text("import torch.nn as nn\n\nclass Net(nn.Linear):\n    pass\n")
    r = run_cli(["train", "data=mnist_tiny", "model=custom", "model._target_=mynet.Nett"], tmp_path)
    assert r.rc == 2
    assert r.stderr.strip() == (
        "hpt train: error: model._target_=mynet.Nett cannot be imported: no Nett in mynet "
        "(did you mean Net?)."
    )


def test_train_says_what_it_runs_and_ends_with_the_test_metrics(tmp_path: Path) -> None:
    r = run_cli(["train", "data=mnist_tiny", "trainer.epochs=1", "model.width=16"], tmp_path)
    assert r.rc == 0, r.stderr
    first = r.stderr.splitlines()[0]
    assert first.startswith("data: mnist_tiny  1,800 train / 200 val / 500 test  |  model: MLP ")
    assert "parameters  |  cpu, fp32, 1 epochs" in first
    last = r.stdout.strip().splitlines()[-1]
    assert last.startswith("test: test/loss=") and "test/acc=" in last


def test_completion_offers_every_command(tmp_path: Path) -> None:
    env = {**os.environ, "COMP_LINE": "hpt ", "PYTHONPATH": str(REPO)}
    r = subprocess.run(
        [sys.executable, "-m", "hpt", "-sc", "query=bash"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
    )
    offered = r.stdout.split()
    for command in (
        "train",
        "sweep",
        "summarize",
        "lr-find",
        "dashboard",
        "predict",
        "eval",
        "export",
    ):
        assert command in offered
