"""``hpt.training.loop`` on its own: the optimisation step (``Update``) and the epoch driver (``run_epochs``)."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from hpt.data import Dataset, Split
from hpt.schedulers import Schedule
from hpt.training.loop import Update, fit, run_epochs
from hpt.training.loop_types import Callbacks, EpochPlan, FitResult, LoopSettings, Parts


def _linear() -> nn.Linear:
    torch.manual_seed(0)
    return nn.Linear(3, 1)


def _mse(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    return nn.functional.mse_loss(model(x), y)


def test_update_step_matches_a_hand_written_sgd_step() -> None:
    x, y = torch.randn(8, 3), torch.randn(8, 1)
    ours, theirs = _linear(), _linear()
    update = Update(torch.optim.SGD(ours.parameters(), lr=0.1), "fp32", torch.device("cpu"))
    loss = update.step(_mse, ours, x, y)
    opt = torch.optim.SGD(theirs.parameters(), lr=0.1)
    expected = _mse(theirs, x, y)
    expected.backward()
    opt.step()
    assert not loss.requires_grad  # detached: callers sum it on the device
    assert loss.item() == pytest.approx(expected.item())
    for a, b in zip(ours.parameters(), theirs.parameters()):
        assert torch.allclose(a, b)


def test_update_clips_the_gradient_norm_before_the_step() -> None:
    model = _linear()
    before = [p.detach().clone() for p in model.parameters()]
    update = Update(
        torch.optim.SGD(model.parameters(), lr=1.0),
        "fp32",
        torch.device("cpu"),
        grad_clip_norm=1e-3,
    )
    update.step(_mse, model, torch.randn(8, 3) * 100, torch.randn(8, 1))
    moved = torch.cat([(p - b).flatten() for p, b in zip(model.parameters(), before)])
    assert moved.norm().item() == pytest.approx(
        1e-3, rel=1e-3
    )  # lr 1: the step is the clipped grad


def test_update_steps_a_per_step_schedule_but_not_a_per_epoch_one() -> None:
    model = _linear()
    opt = torch.optim.SGD(model.parameters(), lr=1.0)
    per_step = Schedule(torch.optim.lr_scheduler.StepLR(opt, step_size=1, gamma=0.5), "step")
    update = Update(opt, "fp32", torch.device("cpu"), schedule=per_step)
    for _ in range(3):
        update.step(_mse, model, torch.randn(4, 3), torch.randn(4, 1))
    assert opt.param_groups[0]["lr"] == pytest.approx(0.125)

    opt2 = torch.optim.SGD(model.parameters(), lr=1.0)
    per_epoch = Schedule(torch.optim.lr_scheduler.StepLR(opt2, step_size=1, gamma=0.5), "epoch")
    Update(opt2, "fp32", torch.device("cpu"), schedule=per_epoch).step(
        _mse, model, torch.randn(4, 3), torch.randn(4, 1)
    )
    assert opt2.param_groups[0]["lr"] == pytest.approx(1.0)  # the epoch driver's job


def _drive(values: list[float], **kw: object) -> tuple[FitResult, list[int]]:
    """``run_epochs`` over scripted validation values; returns the result and the epochs seen."""
    model, seen = _linear(), []

    def epoch_fn(epoch: int) -> dict[str, float]:
        with torch.no_grad():
            model.bias.fill_(epoch)  # the weights of each epoch are told apart by the bias
        return {"train/loss": 1.0, "val/loss": values[epoch - 1]}

    plan = EpochPlan(len(values), "val/loss", False, kw.get("patience"), kw.get("min_delta", 0.0))
    calls = Callbacks(kw.get("reporter"), on_epoch=lambda m: seen.append(m["epoch"]))
    result = run_epochs(model, epoch_fn, plan, calls)
    return result, seen


def test_run_epochs_keeps_the_best_epoch_and_its_weights() -> None:
    result, seen = _drive([3.0, 1.0, 2.0])
    assert result.status == "COMPLETE" and seen == [1, 2, 3]
    assert result.best is not None and result.best["epoch"] == 2
    assert result.best_state is not None and result.best_state["bias"].item() == 2.0
    assert [m["epoch"] for m in result.history] == [1, 2, 3]
    assert all(m["time/epoch_s"] >= 0 for m in result.history)


def test_run_epochs_stops_early_after_patience_epochs_without_improvement() -> None:
    result, seen = _drive([1.0, 0.999, 0.9985, 0.5], patience=2, min_delta=0.01)
    assert result.status == "COMPLETE" and result.stopped_early
    assert seen == [1, 2, 3]  # 0.999 and 0.9985 are within min_delta of 1.0
    assert result.best is not None and result.best["epoch"] == 1


def test_run_epochs_fails_on_a_non_finite_loss_and_keeps_the_epochs_before() -> None:
    result, seen = _drive([2.0, math.nan, 1.0])
    assert result.status == "FAIL" and result.error_kind == "nan"
    assert result.error is not None and "non-finite loss at epoch 2" in result.error
    assert seen == [1, 2]  # the failing epoch is still written to metrics.jsonl
    assert result.best is not None and result.best["epoch"] == 1


def test_run_epochs_stops_when_the_reporter_prunes() -> None:
    class PruneAtTwo:
        def report(self, epoch: int, value: float, metrics: object) -> bool:
            return epoch == 2

    result, seen = _drive([3.0, 2.0, 1.0], reporter=PruneAtTwo())
    assert result.status == "PRUNED" and seen == [1, 2]


def test_fit_learns_a_linear_problem_and_selects_on_validation() -> None:
    g = torch.Generator().manual_seed(0)
    w = torch.randn(3, 1, generator=g)

    def split(n: int) -> Split:
        x = torch.randn(n, 3, generator=g)
        return Split(x, (x @ w).squeeze(1))

    class Flat(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.linear = nn.Linear(3, 1)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.linear(x).squeeze(1)

    torch.manual_seed(0)
    model = Flat()
    data = Dataset(split(256), split(64), split(64), "regression")
    s = LoopSettings(
        epochs=20,
        batch_size=32,
        eval_batch_size=64,
        precision="fp32",
        device=torch.device("cpu"),
        problem="regression",
        objective="val/loss",
        maximize=False,
    )
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    result = fit(Parts(model, opt, Schedule(None, "epoch"), data, nn.MSELoss(), s))
    losses = [m["val/loss"] for m in result.history]
    assert result.status == "COMPLETE" and losses[-1] < losses[0] / 100
    assert result.best is not None and result.best["val/loss"] == min(losses)
    assert {"train/loss", "val/mse", "val/mae", "lr", "throughput/samples_per_s"} <= set(
        result.best
    )
