"""`hpt train` end to end: the run-directory contract, learning, regularizers, determinism, precision."""

from __future__ import annotations

import json
from collections.abc import Callable
from itertools import pairwise
from pathlib import Path
from typing import Any

import pytest
import torch
import yaml
from helpers import RESULT_KEYS, CliResult, compose_config, has_cuda
from torch import nn

from hpt.build import build
from hpt.data import augment
from hpt.record import Outcome, load_checkpoint
from hpt.rundir import read_json, read_jsonl
from hpt.train import run
from hpt.training.loop import fit
from hpt.training.loop_types import Callbacks

METRIC_KEYS = {"epoch", "train/loss", "val/loss", "lr", "time/epoch_s", "throughput/samples_per_s"}
MANIFEST_KEYS = {
    "seed",
    "git",
    "versions",
    "device",
    "device_name",
    "precision",
    "hostname",
    "start_time",
}


def train_in_process(
    tmp_path: Path, *overrides: str, name: str = "run"
) -> tuple[Outcome, dict[str, Any], list[dict[str, Any]]]:
    """One run through ``hpt.train.run`` (what `hpt train` calls), without a subprocess."""
    cfg = compose_config(["trainer.quiet=true", *overrides])
    outcome = run(cfg, tmp_path / name)
    result = read_json(tmp_path / name / "result.json")
    assert result is not None
    return outcome, result, read_jsonl(tmp_path / name / "metrics.jsonl")


def assert_run_dir_contract(run_dir: Path, *, epochs: int, overrides: list[str]) -> dict[str, Any]:
    assert (
        yaml.safe_load((run_dir / ".hydra" / "config.yaml").read_text())["trainer"]["epochs"]
        == epochs
    )
    assert yaml.safe_load((run_dir / ".hydra" / "overrides.yaml").read_text()) == overrides
    assert (run_dir / ".hydra" / "hydra.yaml").is_file()

    rows = read_jsonl(run_dir / "metrics.jsonl")
    assert [r["epoch"] for r in rows] == list(range(1, epochs + 1))
    for r in rows:
        assert set(r) >= METRIC_KEYS | {"val/acc"}

    result = read_json(run_dir / "result.json")
    assert result is not None and set(result) >= RESULT_KEYS
    assert (
        result["status"] == "COMPLETE" and result["error"] is None and result["error_kind"] is None
    )
    assert result["objective"] == {
        "name": "val/acc",
        "value": result["best"]["val/acc"],
        "direction": "maximize",
    }
    assert result["final"] == rows[-1] and result["epochs"] == epochs
    assert set(result["test"]) == {"test/loss", "test/acc"}
    assert result["params"]["trainer.epochs"] == epochs and result["params"]["model.name"] == "mlp"
    assert result["model"]["n_params"] > 0

    manifest = read_json(run_dir / "manifest.json")
    assert manifest is not None and set(manifest) >= MANIFEST_KEYS
    assert manifest["precision"] == "fp32" and manifest["versions"]["torch"] == torch.__version__

    cfg = compose_config(overrides)
    model = build(cfg).model
    state = torch.load(run_dir / "checkpoints" / "best.pt", map_location="cpu", weights_only=True)
    model.load_state_dict(state)  # strict: the keys and shapes match the configured model
    assert sum(p.numel() for p in model.parameters()) == result["model"]["n_params"]
    return result


def test_cli_run_on_tiny_mnist_writes_the_whole_contract(cli: Callable[..., CliResult]) -> None:
    overrides = ["data=mnist_tiny", "trainer.epochs=2", "trainer.quiet=true"]
    res = cli("train", *overrides)
    assert res.rc == 0, res.stderr
    assert f"run dir: {res.run_dir}" in res.stdout and "objective: val/acc=" in res.stdout
    result = assert_run_dir_contract(res.run_dir, epochs=2, overrides=overrides)
    assert result["best"]["val/acc"] > 0.6  # 1,800 images, 2 epochs


def test_cli_run_on_real_mnist_learns_and_writes_the_contract(
    cli: Callable[..., CliResult], mnist_root: Path
) -> None:
    overrides = [
        "data=mnist",
        f"data.root={mnist_root}",
        "data.download=false",
        "data.subset=20000",
        "trainer.epochs=2",
        "trainer.quiet=true",
    ]
    res = cli("train", *overrides)
    assert res.rc == 0, res.stderr
    result = assert_run_dir_contract(res.run_dir, epochs=2, overrides=overrides)
    assert result["best"]["val/acc"] > 0.9
    assert result["test"]["test/acc"] > 0.9


@pytest.mark.parametrize(
    ("data", "metric", "ratio"), [("regression", "val/mse", 0.6), ("binary", "val/acc", 0.9)]
)
def test_synthetic_tasks_train_and_the_loss_decreases(
    tmp_path: Path, data: str, metric: str, ratio: float
) -> None:
    outcome, result, rows = train_in_process(tmp_path, f"data={data}", "trainer.epochs=4")
    assert outcome.status == "COMPLETE"
    losses = [r["train/loss"] for r in rows]
    assert all(b < a for a, b in pairwise(losses))
    assert losses[-1] < ratio * losses[0]  # the binary task's label noise keeps its loss high
    assert all(metric in r for r in rows)
    if data == "binary":
        assert result["best"]["val/acc"] > 0.7  # the labels carry noise: ~0.8 is the ceiling here


@pytest.mark.parametrize("loss", ["l1", "smooth_l1"])
def test_regression_losses_train(tmp_path: Path, loss: str) -> None:
    _, _, rows = train_in_process(tmp_path, "data=regression", f"loss={loss}", "trainer.epochs=3")
    assert rows[-1]["train/loss"] < rows[0]["train/loss"]


def test_l1_penalty_enters_the_loss_and_shrinks_the_weights(tmp_path: Path) -> None:
    def l1_norm(name: str) -> float:
        state = load_checkpoint(tmp_path / name / "checkpoints" / "best.pt")
        return sum(v.abs().sum().item() for k, v in state.items() if v.dim() > 1)

    _, _, plain = train_in_process(tmp_path, "data=mnist_tiny", "trainer.epochs=2", name="plain")
    _, _, penalised = train_in_process(
        tmp_path, "data=mnist_tiny", "trainer.epochs=2", "regularization.l1=1e-3", name="l1"
    )
    assert penalised[0]["train/loss"] > plain[0]["train/loss"] + 1.0  # sum|w| is in the thousands
    assert l1_norm("l1") < 0.5 * l1_norm("plain")


def test_label_smoothing_raises_the_loss_of_confident_predictions() -> None:
    smooth = build(
        compose_config(["data=mnist_tiny", "regularization.label_smoothing=0.2"])
    ).loss_fn
    plain = build(compose_config(["data=mnist_tiny"])).loss_fn
    logits, target = torch.tensor([[20.0, 0, 0, 0, 0, 0, 0, 0, 0, 0]]), torch.tensor([0])
    assert plain(logits, target) < 1e-6
    assert smooth(logits, target) > 1.0


def test_grad_clipping_bounds_every_update() -> None:
    clip, lr = 1e-4, 1.0
    cfg = compose_config(
        [
            "data=mnist_tiny",
            "trainer.epochs=1",
            "optimizer=sgd",
            "optimizer.momentum=0",
            f"optimizer.lr={lr}",
            f"regularization.grad_clip_norm={clip}",
        ]
    )
    r = build(cfg)
    before = torch.cat([p.detach().flatten().clone() for p in r.model.parameters()])
    steps: list[int] = []
    fit(r, Callbacks(on_step=steps.append))
    after = torch.cat([p.detach().flatten() for p in r.model.parameters()])
    moved = (after - before).norm().item()
    assert 0 < moved <= len(steps) * lr * clip * 1.001  # each SGD step moves by lr * |clipped grad|


def test_translate_shifts_images_and_keeps_their_shape() -> None:
    torch.manual_seed(0)
    x = torch.zeros(64, 1, 28, 28)
    x[:, :, 14, 14] = 1.0  # one bright pixel in the middle
    out = augment(x, translate=2, hflip=False, noise_std=0.0)
    assert out.shape == x.shape
    assert torch.equal(out.sum(dim=(1, 2, 3)), torch.ones(64))  # the pixel stays in the image
    pos = out.flatten(1).argmax(1)
    rows, cols = pos // 28, pos % 28
    assert ((rows - 14).abs() <= 2).all() and ((cols - 14).abs() <= 2).all()
    assert len(set(zip(rows.tolist(), cols.tolist()))) > 5  # shifted by different amounts


def test_hflip_flips_some_images_and_leaves_the_rest() -> None:
    torch.manual_seed(0)
    x = torch.randn(64, 1, 28, 28)
    out = augment(x, translate=0, hflip=True, noise_std=0.0)
    flipped = torch.tensor([torch.equal(o, i.flip(2)) for o, i in zip(out, x)])
    kept = torch.tensor([torch.equal(o, i) for o, i in zip(out, x)])
    assert (flipped | kept).all() and flipped.any() and kept.any()


def test_augmented_run_trains(tmp_path: Path) -> None:
    outcome, _, rows = train_in_process(
        tmp_path,
        "data=mnist_tiny",
        "trainer.epochs=2",
        "regularization.augment.translate=2",
        "regularization.augment.noise_std=0.1",
    )
    assert outcome.status == "COMPLETE" and rows[-1]["train/loss"] < rows[0]["train/loss"]


def test_early_stopping_ends_the_run_after_patience_stale_epochs(tmp_path: Path) -> None:
    # min_delta=1 on val/acc: no epoch after the first can count as an improvement.
    outcome, result, rows = train_in_process(
        tmp_path,
        "data=mnist_tiny",
        "trainer.epochs=6",
        "regularization.early_stopping.patience=2",
        "regularization.early_stopping.min_delta=1.0",
    )
    assert outcome.status == "COMPLETE"
    assert result["stopped_early"] is True
    assert result["epochs"] == len(rows) == 3
    assert result["best"]["epoch"] == 1


def test_runs_without_early_stopping_report_it(tmp_path: Path) -> None:
    _, result, _ = train_in_process(tmp_path, "data=mnist_tiny", "trainer.epochs=1")
    assert result["stopped_early"] is False


def test_same_seed_gives_identical_training_losses(tmp_path: Path) -> None:
    args = (
        "data=mnist_tiny",
        "trainer.epochs=2",
        "regularization.dropout=0.1",
        "regularization.augment.translate=1",
    )
    _, _, a = train_in_process(tmp_path, *args, name="a")
    _, _, b = train_in_process(tmp_path, *args, name="b")
    _, _, c = train_in_process(tmp_path, *args, "trainer.seed=1", name="c")
    assert [r["train/loss"] for r in a] == [r["train/loss"] for r in b]
    assert [r["val/loss"] for r in a] == [r["val/loss"] for r in b]
    assert [r["train/loss"] for r in a] != [r["train/loss"] for r in c]


def test_cpu_bf16_autocast_trains_with_finite_decreasing_loss(tmp_path: Path) -> None:
    outcome, _, rows = train_in_process(
        tmp_path,
        "data=mnist_tiny",
        "trainer.epochs=2",
        "trainer.device=cpu",
        "trainer.precision=bf16",
        "model.width=64",
    )
    assert outcome.status == "COMPLETE"
    losses = [r["train/loss"] for r in rows]
    assert all(torch.isfinite(torch.tensor(losses))) and losses[1] < losses[0]
    assert json.loads((tmp_path / "run" / "manifest.json").read_text())["precision"] == "bf16"


@pytest.mark.gpu
@pytest.mark.skipif(not has_cuda(), reason="needs a CUDA device")
@pytest.mark.parametrize("precision", ["bf16", "fp16"])
def test_gpu_mixed_precision_channels_last_compiled_cnn_trains(
    tmp_path: Path, precision: str
) -> None:
    if precision == "bf16" and not torch.cuda.is_bf16_supported():
        pytest.skip("this GPU has no bf16")
    outcome, _, rows = train_in_process(
        tmp_path,
        "data=mnist_tiny",
        "model=cnn",
        "trainer.epochs=3",
        "trainer.device=cuda",
        f"trainer.precision={precision}",
        "trainer.channels_last=true",
        "trainer.compile=true",
        "optimizer.lr=3e-3",
    )
    assert outcome.status == "COMPLETE", outcome.error
    losses = [r["train/loss"] for r in rows]
    assert all(torch.isfinite(torch.tensor(losses))) and losses[-1] < losses[0]
    state = load_checkpoint(tmp_path / "run" / "checkpoints" / "best.pt")
    assert not any(k.startswith("_orig_mod.") for k in state)  # compiled models save plain keys


def test_checkpoint_holds_only_tensors(tmp_path: Path) -> None:
    train_in_process(tmp_path, "data=mnist_tiny", "trainer.epochs=1")
    state = load_checkpoint(tmp_path / "run" / "checkpoints" / "best.pt")
    assert state and all(
        isinstance(v, torch.Tensor) and v.device.type == "cpu" for v in state.values()
    )
    model = build(compose_config(["data=mnist_tiny"])).model
    assert isinstance(model, nn.Module)
    model.load_state_dict(state)
