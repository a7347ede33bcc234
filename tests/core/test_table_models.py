"""Models made for tables (the ``tabular`` extra): TabM and the FT-Transformer on a real table,
through hpt's preprocessing, predict and export."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pandas as pd
import pytest
import torch
from helpers import run_cli
from helpers.sk_data import shared_dir
from torch import nn

from hpt.training.loop import batch_loss
from hpt.training.loop_types import LoopSettings

pytest.importorskip("tabm")
pytest.importorskip("rtdl_revisiting_models")


def test_tabm_trains_as_its_paper_does_and_predicts_as_one_model() -> None:
    from hpt.table_models import TabM

    torch.manual_seed(0)
    model = TabM([5], 3, k=4, n_blocks=1, d_block=16, dropout=0.0)
    x, y = torch.randn(6, 5), torch.tensor([0, 1, 2, 0, 1, 2])
    members = model(x)  # training mode: every member's logits
    assert members.shape == (6, 4, 3)
    s = LoopSettings(4, 6, 6, "fp32", torch.device("cpu"), "classification", "val/acc", True)
    loss = batch_loss(model, nn.CrossEntropyLoss(), x, y, s, [])
    each = [nn.functional.cross_entropy(members[:, i], y) for i in range(4)]
    assert float(loss) == pytest.approx(float(sum(each) / 4), rel=1e-5)  # the mean of theirs
    model.eval()
    with torch.no_grad():
        out, members = model(x), model.net(x)
    mean_p = members.softmax(-1).mean(1)
    assert out.shape == (6, 3) and torch.allclose(out.exp(), mean_p, atol=1e-6)


@pytest.mark.parametrize(
    ("model", "embeddings"),
    [("tabm", "none"), ("tabm", "periodic"), ("ft_transformer", "periodic")],
)
def test_a_table_model_trains_predicts_and_exports_on_a_real_table(
    model: str, embeddings: str, tmp_path: Path
) -> None:
    tables = shared_dir()
    r = run_cli(
        [
            "train",
            f"model={model}",
            "data=table",
            f"data.path={tables / 'bc_train.csv'}",
            f"data.test_path={tables / 'bc_test.csv'}",
            "data.target=target",
            "trainer.epochs=3",
            f"model.embeddings.kind={embeddings}",
            *(["model.n_blocks=1", "model.d_block=32"] if model == "ft_transformer" else []),
        ],
        tmp_path,
    )
    assert r.rc == 0, r.stderr
    result = json.loads((r.run_dir / "result.json").read_text())
    spec = json.loads((r.run_dir / "checkpoints" / "best.json").read_text())
    assert ('"kind": "periodic"' in json.dumps(spec)) == (embeddings == "periodic")  # rebuilt so
    assert result["status"] == "COMPLETE" and result["test"]["test/acc"] > 0.8
    test_csv = tables / "bc_test.csv"
    r = run_cli(["predict", str(r.run_dir), str(test_csv), "-o", "p.csv"], tmp_path)
    assert r.rc == 0, r.stderr
    pred = pd.read_csv(tmp_path / "p.csv")
    assert (pred["prediction"] == pred["target"]).mean() == pytest.approx(
        result["test"]["test/acc"], abs=1e-9
    )
    probs = pred[[c for c in pred.columns if c.startswith("p_")]].sum(axis=1)
    assert all(math.isclose(p, 1.0, abs_tol=1e-4) for p in probs)
    r = run_cli(["export", str(tmp_path / "run"), "-o", "m.pt"], tmp_path)
    assert r.rc == 0, r.stderr
