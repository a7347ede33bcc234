"""Using a tuned run: its run dir holds everything (preprocessing.json, checkpoints/best.json),
``hpt predict``, ``hpt eval``, ``hpt export`` and ``hpt.api.load``.

Real data: scikit-learn's wine table with a string target (the cultivar's name), trained once
per module on all but 28 held-back rows, which are then predicted.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from hpt.api import train
from hpt.preprocessing import Trained

CULTIVARS = np.array(["barolo", "grignolino", "barbera"])
HELD_BACK = 28
WINE_TRAIN = ["data=table", "data.target=cultivar", "trainer.device=cpu", "trainer.epochs=30",
              "trainer.batch_size=32"]  # fmt: skip


@pytest.fixture(scope="module")
def wine(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """wine.csv (150 rows to train on), new.csv (28 held-back rows, with their labels) and
    the trained run dir."""
    from sklearn.datasets import load_wine

    folder = tmp_path_factory.mktemp("wine")
    frame = load_wine(as_frame=True).frame
    frame["strength"] = np.select(
        [frame["alcohol"] < 12.5, frame["alcohol"] < 13.5], ["light", "medium"], "strong"
    )
    frame["cultivar"] = CULTIVARS[frame.pop("target").to_numpy()]
    frame = frame.sample(frac=1.0, random_state=0).reset_index(drop=True)
    frame.iloc[HELD_BACK:].to_csv(folder / "wine.csv", index=False)
    frame.iloc[:HELD_BACK].to_csv(folder / "new.csv", index=False)
    run = folder / "run"
    result = train([*WINE_TRAIN, f"data.path={folder / 'wine.csv'}"], run_dir=run)
    assert result["status"] == "COMPLETE"
    return {"dir": folder, "run": run, "new": folder / "new.csv"}


def test_the_run_dir_holds_the_fitted_preprocessing_and_the_model_config(
    wine: dict[str, Path],
) -> None:
    prep = json.loads((wine["run"] / "preprocessing.json").read_text())
    assert prep["problem"] == "classification"
    assert prep["classes"] == ["barbera", "barolo", "grignolino"]
    features = {f["name"]: f for f in prep["input"]["features"]}
    assert features["strength"] == {
        "name": "strength", "kind": "categorical", "levels": ["light", "medium", "strong"],
    }  # fmt: skip
    assert features["alcohol"]["kind"] == "numeric" and "fill" in features["alcohol"]
    assert prep["input"]["columns"][-3:] == ["strength=light", "strength=medium", "strength=strong"]
    assert len(prep["normalise"]["mean"]) == len(prep["input"]["columns"]) == 16
    spec = json.loads((wine["run"] / "checkpoints" / "best.json").read_text())
    assert spec["model"]["_target_"] == "hpt.models.MLP"
    assert (spec["in_shape"], spec["out_features"]) == ([16], 3)


def test_the_model_rebuilt_from_the_run_dir_alone_scores_the_held_back_rows(
    wine: dict[str, Path],
) -> None:
    trained = Trained(wine["run"])
    new = pd.read_csv(wine["new"])
    with torch.no_grad():
        out = trained.model()(trained.table_inputs(new, "new.csv"))
    predicted = trained.predictions(out)["prediction"]
    accuracy = float(np.mean(np.array(predicted) == new["cultivar"].to_numpy()))
    assert accuracy >= 0.85, accuracy
