"""hpt.api.train: one run from a list of overrides, returning its result.json contents."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from helpers import sk_data

from hpt.api import compose, train
from hpt.errors import UserError


def test_train_returns_the_result_json_of_the_run(tmp_path: Path) -> None:
    wine = sk_data.shared_dir() / "wine.csv"
    result = train(
        [
            "data=table",
            f"data.path={wine}",
            "data.target=target",
            "trainer.epochs=2",
            "trainer.device=cpu",
        ],
        run_dir=tmp_path / "run",
    )
    assert result == json.loads((tmp_path / "run" / "result.json").read_text())
    assert result["status"] == "COMPLETE" and result["epochs"] == 2
    assert result["objective"]["name"] == "val/acc" and 0 <= result["objective"]["value"] <= 1
    assert result["params"]["model.name"] == "mlp" and result["params"]["data.path"] == str(wine)


def test_bad_overrides_and_bad_input_raise_one_line_user_errors(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="Could not find 'optimizer/zzz'"):
        train(["optimizer=zzz"], run_dir=tmp_path / "a")
    with pytest.raises(UserError, match=r"data\.path=nope\.csv: no such file"):
        train(["data=table", "data.path=nope.csv", "data.target=y"], run_dir=tmp_path / "b")
    failed = json.loads((tmp_path / "b" / "result.json").read_text())
    assert failed["status"] == "FAIL" and "nope.csv" in failed["error"]


def test_compose_layers_a_config_dir(tmp_path: Path) -> None:
    (tmp_path / "model").mkdir()
    (tmp_path / "model" / "tiny.yaml").write_text("_target_: hpt.models.MLP\nwidth: 3\n")
    assert compose(["model=tiny"], config_dir=tmp_path).model.width == 3
