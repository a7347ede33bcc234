"""Post-training compression: pruning, fine-tuning with the mask, INT8 quantization, records, sweep."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest
import torch
from helpers import compose_config, run_cli
from torch import nn

from hpt.build import build
from hpt.compress import footprint, load_compressed, make_permanent, prune_model, quantize
from hpt.errors import UserError
from hpt.models import MLP
from hpt.rundir import read_json
from hpt.train import run
from hpt.training.loop import evaluate
from hpt.training.settings import selection_metric

TINY = ["data=mnist_tiny", "data.subset=800", "trainer.quiet=true", "model.width=64"]


def mlp() -> nn.Module:
    torch.manual_seed(0)
    return MLP([1, 28, 28], 10, width=64, depth=2)


def weights(model: nn.Module) -> list[torch.Tensor]:
    return [m.weight for m in model.modules() if isinstance(m, nn.Linear)]


@pytest.mark.parametrize("scope", ["global", "layer"])
def test_unstructured_pruning_hits_the_amount(scope: str) -> None:
    model = mlp()
    total = sum(w.numel() for w in weights(model))
    before = footprint(model)
    targets = prune_model(model, "l1_unstructured", 0.5, scope)
    make_permanent(targets)
    assert not any(
        hasattr(m, "weight_orig") for m in model.modules()
    )  # permanent: plain weights again
    zeros = sum(int((w == 0).sum()) for w in weights(model))
    assert abs(zeros - 0.5 * total) <= len(targets)  # rounding: at most one weight per layer
    if scope == "layer":
        for w in weights(model):
            assert int((w == 0).sum()) == round(0.5 * w.numel())
    after = footprint(model, targets)
    assert after["sparsity"] == pytest.approx(0.5, abs=1e-4)
    assert after["params"] == before["params"]
    assert before["nonzero_params"] - after["nonzero_params"] == zeros
    assert after["zipped_bytes"] < before["zipped_bytes"]  # the zeros pay off on disk


def test_structured_pruning_zeroes_whole_rows_but_keeps_the_classes() -> None:
    model = mlp()
    make_permanent(prune_model(model, "ln_structured", 0.25, "global"))
    *hidden, last = weights(model)
    for w in hidden:
        assert int((w.abs().sum(1) == 0).sum()) == round(0.25 * w.shape[0])
    assert int((last.abs().sum(1) == 0).sum()) == 0


def test_quantized_model_matches_the_float_model() -> None:
    model = mlp().eval()
    x = torch.randn(32, 1, 28, 28)
    q = quantize(mlp())
    assert not any(isinstance(m, nn.Linear) for m in q.modules())
    assert (q(x).argmax(1) == model(x).argmax(1)).float().mean() > 0.9
    assert footprint(q)["size_bytes"] < footprint(model)["size_bytes"] / 3


def assert_sane(record: dict[str, Any]) -> None:
    base = record["baseline"]
    assert record["params"] == base["params"]
    assert record["nonzero_params"] < base["nonzero_params"]
    assert abs(record["val/acc"] - base["val/acc"]) < 0.15  # compressed, not broken
    assert 0 < record["cpu_latency_ms"] < 1000 and base["cpu_latency_ms"] > 0
    assert set(record) >= {
        "test/acc",
        "test/loss",
        "val/loss",
        "size_bytes",
        "zipped_bytes",
        "sparsity",
    }


@pytest.mark.filterwarnings("ignore:TypedStorage is deprecated")  # torch.load of INT8 tensors
def test_train_prune_finetune_quantize_end_to_end(tmp_path: Path) -> None:
    cfg = compose_config(
        [*TINY, "trainer.epochs=2", "compress=prune_quantize", "compress.finetune_epochs=1"]
    )
    outcome = run(cfg, tmp_path / "pq")
    result = read_json(tmp_path / "pq" / "result.json")
    assert outcome.status == "COMPLETE" and result is not None
    rec = result["compress"]
    assert rec["method"] == "l1_unstructured" and rec["quantized"] is True
    assert rec["finetune"]["status"] == "COMPLETE" and rec["finetune"]["epochs"] == 1
    assert rec["sparsity"] == pytest.approx(0.5, abs=1e-4)  # the mask held through fine-tuning
    assert rec["size_bytes"] < rec["baseline"]["size_bytes"] / 3  # INT8 weights
    assert_sane(rec)
    assert (
        result["params"]["compress.method"] == "l1_unstructured"
        and result["params"]["compress.amount"] == 0.5
    )

    # The checkpoint is a plain state_dict that weights_only loading accepts; loaded into a
    # fresh model of the same config it reproduces the recorded accuracy.
    path = tmp_path / "pq" / rec["checkpoint"]
    state = torch.load(path, map_location="cpu", weights_only=True)
    assert any("_packed_params" in k for k in state)
    fresh = build(cfg)
    model = load_compressed(fresh.model, path, quantized=True)
    s = fresh.settings
    assert evaluate(model, fresh.data.val, fresh.loss_fn, s, "val")["val/acc"] == pytest.approx(
        rec["val/acc"]
    )


def test_prune_only_checkpoint_is_a_sparse_float_state_dict(tmp_path: Path) -> None:
    cfg = compose_config(
        [*TINY, "trainer.epochs=1", "compress=prune", "compress.amount=0.7", "compress.scope=layer"]
    )
    run(cfg, tmp_path / "p")
    result = read_json(tmp_path / "p" / "result.json")
    assert result is not None
    rec = result["compress"]
    assert rec["quantized"] is False and rec["sparsity"] == pytest.approx(0.7, abs=1e-3)
    assert rec["size_bytes"] == pytest.approx(
        rec["baseline"]["size_bytes"], rel=0.01
    )  # dense storage
    assert_sane(rec)
    state = torch.load(tmp_path / "p" / "checkpoints" / "compressed.pt", weights_only=True)
    model = load_compressed(
        build(cfg).model, tmp_path / "p" / "checkpoints" / "compressed.pt", quantized=False
    )
    assert set(state) == set(model.state_dict())  # no weight_orig / weight_mask left
    nonzero = sum(int(torch.count_nonzero(p)) for p in model.parameters())
    assert nonzero == rec["nonzero_params"]


def test_compress_objectives_feed_a_multi_objective_run(tmp_path: Path) -> None:
    assert (
        selection_metric("compress/val_acc") == "val/acc"
        and selection_metric("val/loss") == "val/loss"
    )
    overrides = [
        *TINY,
        "trainer.epochs=1",
        "objective.metric=[compress/val_acc,compress/size_bytes]",
    ]
    outcome = run(
        compose_config(overrides), tmp_path / "none"
    )  # compress=none: the float model, measured
    result = read_json(tmp_path / "none" / "result.json")
    assert result is not None and outcome.values is not None
    rec = result["compress"]
    assert rec["method"] == "none" and rec["val/acc"] == pytest.approx(result["best"]["val/acc"])
    assert [o["name"] for o in result["objectives"]] == ["compress/val_acc", "compress/size_bytes"]
    assert [o["direction"] for o in result["objectives"]] == ["maximize", "minimize"]
    assert outcome.values == [pytest.approx(rec["val/acc"]), float(rec["size_bytes"])]


def test_bad_settings_fail_before_training() -> None:
    with pytest.raises(UserError, match="amount"):
        build(compose_config([*TINY, "compress=prune", "compress.amount=1.5"]))
    with pytest.raises(UserError, match="scope"):
        build(compose_config([*TINY, "compress=prune", "compress.scope=everywhere"]))


def test_sweep_search_compress_completes(tmp_path: Path) -> None:
    sweep = tmp_path / "sweep"
    args = [
        "sweep",
        "search=compress",
        *TINY,
        "data.subset=500",
        "trainer.epochs=1",
        "hydra.sweeper.n_trials=2",
        "hydra.sweeper.sampler.population_size=2",
        f"hydra.sweep.dir={sweep}",
    ]
    res = run_cli(args, tmp_path)
    assert res.rc == 0, res.stderr
    trials = sorted(sweep.glob("trial_*"))
    assert len(trials) == 2
    for trial in trials:
        result = json.loads((trial / "result.json").read_text())
        assert result["status"] == "COMPLETE"
        names = [o["name"] for o in result["objectives"]]
        assert names == ["compress/val_acc", "compress/nonzero_params"]
        values = [o["value"] for o in result["objectives"]]
        assert all(math.isfinite(v) for v in values)
        assert values[1] == result["compress"]["nonzero_params"]
        assert 0.3 <= result["compress"]["amount"] <= 0.97
        assert (trial / "checkpoints" / "compressed.pt").is_file()
