"""Bad input on the newer surfaces (predict, eval, ``hpt.api.load``, summarize's inputs) is one
line and exit 2, or a documented answer, never a traceback, a hang or nonsense with exit 0."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from helpers import cli_env, sk_data
from helpers.tiny_run import hpt_in_process

from hpt.api import load, train


@pytest.fixture(scope="module")
def wine(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A run on the wine table (numbers and one text column, ``strength``), 5 rows to predict."""
    folder = tmp_path_factory.mktemp("wine")
    frame = pd.read_csv(sk_data.shared_dir() / "wine.csv")
    frame.to_csv(folder / "wine.csv", index=False)
    frame.head(5).drop(columns=["target"]).to_csv(folder / "new.csv", index=False)
    overrides = [
        "data=table",
        f"data.path={folder / 'wine.csv'}",
        "data.target=target",
        "model.width=8",
        "trainer.epochs=1",
        "trainer.device=cpu",
    ]
    assert train(overrides, run_dir=folder / "run")["status"] == "COMPLETE"
    return {"run": folder / "run", "new": folder / "new.csv"}


def _one_line(code: int, err: str) -> str:
    lines = err.strip().splitlines()
    assert code == 2 and len(lines) == 1 and "Traceback" not in err, err
    return lines[0]


def test_rows_that_cannot_be_scored_are_refused_naming_them(
    wine: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    new = pd.read_csv(wine["new"])
    new.loc[2, "alcohol"] = np.inf
    new.loc[3, "alcohol"] = 1e300  # a float64, beyond float32: inf once encoded
    new.to_csv(tmp_path / "bad.csv", index=False)
    code, _, err = hpt_in_process(capsys, "predict", wine["run"], tmp_path / "bad.csv", "-o", "-")
    line = _one_line(code, err)
    assert "2 row(s) cannot be scored" in line and "row 2, 3 (column alcohol)" in line
    with pytest.raises(Exception, match="cannot be scored"):
        load(wine["run"]).predict(new)


def test_an_empty_text_cell_is_no_category_and_unknown_ones_are_named(
    wine: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    new = pd.read_csv(wine["new"])
    new.loc[1, "strength"] = np.nan
    new.to_csv(tmp_path / "empty.csv", index=False)
    code, out, err = hpt_in_process(
        capsys, "predict", wine["run"], tmp_path / "empty.csv", "-o", "-"
    )
    assert code == 0 and len(out.strip().splitlines()) == 1 + 5, err
    model = load(wine["run"])
    columns = model.preprocessing["input"]["columns"]
    x = model._trained.table_inputs(new, "rows")  # standardised: undo it to see the encoding
    norm = model.preprocessing["normalise"]
    raw = x * torch.tensor(norm["std"]) + torch.tensor(norm["mean"])
    strength = [i for i, c in enumerate(columns) if c.startswith("strength=")]
    assert raw[1, strength].abs().max() < 1e-5 and raw[0, strength].sum() > 0.99
    new.loc[2, "strength"] = "sparkling"
    new.to_csv(tmp_path / "unknown.csv", index=False)
    code, _, err = hpt_in_process(
        capsys, "predict", wine["run"], tmp_path / "unknown.csv", "-o", "-"
    )
    assert "categories not seen in training: sparkling" in _one_line(code, err)


def test_api_predict_fills_a_missing_number_with_the_median_as_the_csv_path_does(
    wine: dict[str, Path],
) -> None:
    model = load(wine["run"])
    new = pd.read_csv(wine["new"])
    new.loc[0, "alcohol"] = np.nan
    raw = [
        [
            float(row[c.partition("=")[0]] == c.partition("=")[2]) if "=" in c else row[c]
            for c in model.preprocessing["input"]["columns"]
        ]
        for _, row in new.iterrows()
    ]
    from_tensor = model.predict(torch.tensor(raw, dtype=torch.float32))
    from_frame = model.predict(new)
    probs = [c for c in from_frame.columns if c.startswith("p_")]
    assert not from_tensor[probs].isna().any().any()
    np.testing.assert_allclose(from_tensor[probs], from_frame[probs], atol=1e-6)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda p: p["normalise"]["std"].__setitem__(0, 0), "std > 0"),
        (lambda p: p["normalise"].__setitem__("mean", "x"), "normalise.mean"),
        (lambda p: p["input"]["features"].__setitem__(0, 7), "input.features has a bad entry"),
        (lambda p: p["input"]["columns"].pop(), "input.columns does not match"),
        (lambda p: p.__setitem__("problem", "magic"), "problem is 'magic'"),
    ],
    ids=["zero_std", "mean_text", "feature", "columns", "problem"],
)
def test_a_tampered_preprocessing_json_is_one_line(
    wine: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str], change, message
) -> None:
    run = tmp_path / "run"
    shutil.copytree(wine["run"], run)
    prep = json.loads((run / "preprocessing.json").read_text())
    change(prep)
    (run / "preprocessing.json").write_text(json.dumps(prep))
    code, _, err = hpt_in_process(capsys, "predict", run, wine["new"], "-o", "-")
    line = _one_line(code, err)
    assert "preprocessing.json is damaged" in line and message in line


def test_eval_refuses_a_setting_out_of_range_or_that_changes_nothing(
    wine: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    for item in ("model.width=64", "trainer.epochs=3", "optimizer.lr=0.5"):
        code, _, err = hpt_in_process(capsys, "eval", wine["run"], item)
        assert "changes nothing in hpt eval" in _one_line(code, err)
    for value in ("-5", "0"):
        code, _, err = hpt_in_process(
            capsys, "eval", wine["run"], f"trainer.eval_batch_size={value}"
        )
        assert f"trainer.eval_batch_size={value}: must be" in _one_line(code, err)


def test_summarize_skips_a_fifo_and_a_link_to_dev_zero_with_a_warning(
    wine: dict[str, Path], tmp_path: Path
) -> None:
    shutil.copytree(wine["run"], tmp_path / "runs" / "good")
    for name in ("fifo", "zero"):
        (tmp_path / "runs" / name).mkdir()
    os.mkfifo(tmp_path / "runs" / "fifo" / "result.json")
    (tmp_path / "runs" / "zero" / "result.json").symlink_to("/dev/zero")
    r = subprocess.run(
        [sys.executable, "-m", "hpt", "summarize", str(tmp_path / "runs"), "--format", "json"],
        env=cli_env(),
        capture_output=True,
        text=True,
        timeout=120,  # before the fix: forever on the FIFO
    )
    assert r.returncode == 0 and "Traceback" not in r.stderr, r.stderr
    for name in ("fifo", "zero"):
        assert f"{name}: result.json is not a regular file, skipped" in r.stderr
    assert "good" in r.stdout
