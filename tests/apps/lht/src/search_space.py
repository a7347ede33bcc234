"""A custom search space in the old plugin's style: suggest on the trial, return nothing."""

from omegaconf import DictConfig
from optuna.trial import Trial


def configure(cfg: DictConfig, trial: Trial) -> None:
    lr = trial.params["model.lr"]
    trial.suggest_int("model.width", 16 if lr < 0.05 else 64, 128, step=16)
