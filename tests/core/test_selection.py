"""How hpt chooses (hpt.selection): ties broken by the validation loss, diverged runs never
chosen, the standard error of an objective, and the regression metrics a choice is read by."""

from __future__ import annotations

import math
import statistics

import optuna
import pytest
import torch
from sklearn.metrics import r2_score
from torch import nn

from hpt.data import Dataset, Split
from hpt.selection import better, diverged, standard_error, tie_rule, within_noise
from hpt.sweep.running.monitor import best_trials
from hpt.sweep.running.verdict import A_DIVERGED
from hpt.training.cv import auto_folds
from hpt.training.loop import run_epochs
from hpt.training.loop_types import EpochPlan, LoopSettings


def test_an_accuracy_ties_within_half_a_validation_row_and_the_loss_breaks_the_tie() -> None:
    tie, key = tie_rule("val/acc", 40)
    assert tie == pytest.approx(0.5 / 40) and key == "val/loss"
    assert tie_rule("val/loss", 40) == (0.0, None)  # the loss itself: nothing to break a tie
    assert tie_rule("val/r2", 40)[1] == "val/loss"
    same = 39 / 40
    assert better(same, 0.10, (same, 0.30), True, tie)  # a tie, lower loss: wins
    assert not better(same, 0.30, (same, 0.10), True, tie)
    assert not better(same, None, (same, 0.10), True, tie)  # no key: the incumbent stays
    assert better(40 / 40, 9.0, (same, 0.10), True, tie)  # one more row is better, whatever loss
    assert not better(38 / 40, 0.01, (same, 0.10), True, tie)
    # early stopping's min_delta still decides what counts as an improvement
    assert not better(0.96, 0.1, (0.955, 0.2), True, 0.0, min_delta=0.01)


def test_the_epoch_driver_keeps_the_later_epoch_of_a_tie_when_its_loss_is_lower() -> None:
    rows = [(0.95, 0.40), (0.95, 0.20), (0.95, 0.30), (0.90, 0.10)]  # (val/acc, val/loss)

    def epoch_fn(epoch: int) -> dict[str, float]:
        acc, loss = rows[epoch - 1]
        return {"train/loss": 0.5, "val/acc": acc, "val/loss": loss}

    tie, key = tie_rule("val/acc", 40)
    plan = EpochPlan(len(rows), "val/acc", True, tie=tie, tie_break=key)
    result = run_epochs(nn.Linear(1, 1), epoch_fn, plan)
    assert result.best is not None and result.best["epoch"] == 2
    # the old rule (strict >, the earliest epoch of a tie) would have kept epoch 1
    plain = run_epochs(nn.Linear(1, 1), epoch_fn, EpochPlan(len(rows), "val/acc", True))
    assert plain.best is not None and plain.best["epoch"] == 1


def test_a_refit_keeps_its_last_epoch() -> None:
    def epoch_fn(epoch: int) -> dict[str, float]:
        return {"train/loss": 1.0 / epoch, "val/loss": float(epoch)}  # validation gets worse

    result = run_epochs(nn.Linear(1, 1), epoch_fn, EpochPlan(3, "val/loss", False, keep_last=True))
    assert result.best is not None and result.best["epoch"] == 3


@pytest.mark.parametrize(
    ("losses", "chance", "expected"),
    [
        ([0.69, 0.40, 0.20], math.log(2), False),  # learns
        ([0.69, 0.70, 0.69], math.log(2), False),  # learns nothing, but did not blow up
        ([0.69, 3.5, 16.0], math.log(2), True),  # logits blew up
        ([9.0, 12.0, 16.0], math.log(2), True),  # above chance from the first epoch on
        ([0.5, float("nan")], None, True),
        ([1.0, 2.5], None, False),  # within 3x of its start, no chance known
        ([1.0, 3.5], None, True),
        ([], None, False),
    ],
)
def test_a_run_diverged_when_its_training_loss_ends_far_above_its_start_or_chance(
    losses: list[float], chance: float | None, expected: bool
) -> None:
    assert diverged([{"train/loss": v} for v in losses], chance) is expected


def test_the_standard_error_comes_from_the_folds_or_the_binomial_of_a_holdout() -> None:
    folds = {"cv": {"values": [0.9, 0.95, 1.0, 0.95, 0.9]}}
    assert standard_error(folds) == pytest.approx(statistics.stdev(folds["cv"]["values"]) / 5**0.5)
    holdout = {"objective": {"name": "val/acc", "value": 0.9}, "rows": {"val": 100}}
    assert standard_error(holdout) == pytest.approx(0.03)
    perfect = {"objective": {"name": "val/acc", "value": 1.0}, "rows": {"val": 43}}
    assert standard_error(perfect) == pytest.approx(1 / 43)  # one row, not zero
    assert standard_error({"objective": {"name": "val/loss", "value": 0.3}}) is None
    assert within_noise(0.96, 0.95, 0.02, True) and not within_noise(0.99, 0.95, 0.02, True)
    assert within_noise(0.94, 0.95, None, True)  # no better at all


def _trial(value: float, loss: float, *, diverged: bool = False) -> optuna.trial.FrozenTrial:
    return optuna.trial.create_trial(
        value=value, user_attrs={"best/val/loss": loss, A_DIVERGED: diverged}
    )


def test_a_sweep_never_chooses_a_diverged_trial_and_breaks_ties_by_the_loss() -> None:
    study = optuna.create_study(direction="maximize")
    for t in [
        _trial(1.0, 16.0, diverged=True),  # the lucky, diverged one: best value, never chosen
        _trial(0.98, 0.30),
        _trial(0.98, 0.08),  # ties #1 on the value, lower loss: chosen
        _trial(0.98, 0.08),  # a full tie: the earlier trial stays
        _trial(0.90, 0.05),
    ]:
        study.add_trial(t)
    trials = study.get_trials(deepcopy=False)
    assert [t.number for t in best_trials(study, trials)] == [2]


def test_regression_metrics_are_in_the_targets_units_and_r2_matches_scikit_learn() -> None:
    g = torch.Generator().manual_seed(0)
    x = torch.randn(64, 3, generator=g)
    y_units = 100.0 + 20.0 * (x[:, :1] + 0.3 * torch.randn(64, 1, generator=g))
    mean, std = float(y_units.mean()), float(y_units.std())
    model = nn.Linear(3, 1)
    split = Split(x, (y_units - mean) / std)
    settings = LoopSettings(
        epochs=1,
        batch_size=16,
        eval_batch_size=64,
        precision="fp32",
        device=torch.device("cpu"),
        problem="regression",
        objective="val/loss",
        maximize=False,
        target_scale=([mean], [std]),
    )
    from hpt.training.loop import evaluate

    m = evaluate(model, split, nn.MSELoss(), settings, "val")
    with torch.no_grad():
        pred = model(x) * std + mean
    assert m["val/r2"] == pytest.approx(r2_score(y_units.numpy(), pred.numpy()), abs=1e-4)
    assert m["val/rmse"] == pytest.approx(math.sqrt(m["val/mse"]))
    assert m["val/mae"] == pytest.approx(float((pred - y_units).abs().mean()), rel=1e-4)
    assert isinstance(Dataset(split, split, split, "regression"), Dataset)


def test_auto_folds_cross_validate_a_small_table_in_a_sweep_only() -> None:
    assert auto_folds(426, features=True, in_sweep=True) == 5
    assert auto_folds(426, features=True, in_sweep=False) == 1  # hpt train keeps its holdout
    assert auto_folds(1_500, features=True, in_sweep=True) == 1  # enough rows to hold out
    assert auto_folds(600, features=False, in_sweep=True) == 1  # images: five CNN fits cost
    # stratified folds cannot outnumber the rarest class; one row of it cannot be split at all
    assert auto_folds(426, features=True, in_sweep=True, smallest_class=3) == 3
    assert auto_folds(426, features=True, in_sweep=True, smallest_class=1) == 1


def test_select_1se_hands_over_the_baseline_unless_the_best_beats_it_by_one_error() -> None:
    from hpt.sweep.chosen import handed_over, noise_line

    base = {"number": 0, "values": [0.95], "dir": "trial_0000"}
    close = {"number": 7, "values": [0.96], "se": 0.02, "dir": "trial_0007"}
    far = {"number": 9, "values": [0.99], "se": 0.02, "dir": "trial_0009"}
    assert handed_over({"best": [close], "baseline": base}, "1se", True) is base
    assert handed_over({"best": [far], "baseline": base}, "1se", True) is far
    assert handed_over({"best": [close], "baseline": base}, "best", True) is close
    line = noise_line({"best": [close], "baseline": base}, ["val/acc"], ["maximize"])
    assert line is not None and "not distinguishable from the baseline" in line
    line = noise_line({"best": [far], "baseline": base}, ["val/acc"], ["maximize"])
    assert line is not None and "better than the baseline by more than one standard error" in line
