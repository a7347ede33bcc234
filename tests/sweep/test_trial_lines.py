"""The line ``hpt sweep`` prints for each finished trial."""

from __future__ import annotations

import optuna
from optuna.distributions import CategoricalDistribution, FloatDistribution
from optuna.trial import TrialState

from hpt.sweep.running.monitor import trial_line

DISTRIBUTIONS = {
    "optimizer": CategoricalDistribution(["adamw", "sgd"]),
    "optimizer.lr": FloatDistribution(1e-4, 1e-1, log=True),
}


def _trial(number: int, value: float, params: dict[str, object]) -> optuna.trial.FrozenTrial:
    trial = optuna.trial.create_trial(
        state=TrialState.COMPLETE, value=value, params=params, distributions=DISTRIBUTIONS
    )
    trial.number = number
    return trial


def test_the_best_trial_s_line_shows_its_own_settings_and_the_others_what_differs() -> None:
    best = {"optimizer": "adamw", "optimizer.lr": 0.001}
    line = trial_line(_trial(0, 0.97, best), best, ["val/acc"])
    assert line == (
        "trial 0 COMPLETE val/acc=0.97  0.0s  [best so far: optimizer=adamw optimizer.lr=0.001]"
    )
    other = trial_line(_trial(1, 0.9, {**best, "optimizer.lr": 0.05}), best, ["val/acc"])
    assert other == "trial 1 COMPLETE val/acc=0.9  0.0s  [vs best: optimizer.lr=0.05]"
