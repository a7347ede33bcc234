"""A logger setting its library cannot take is one line and exit 2 before training, not an
``internal error``: an empty ``logger.mlflow.experiment``, a ``WANDB_MODE`` W&B does not know."""

from __future__ import annotations

from pathlib import Path

import pytest
from helpers import run_in_process

TINY = [
    "train",
    "data=mnist_tiny",
    "data.subset=100",
    "trainer.epochs=1",
    "trainer.device=cpu",
    "--quiet",
]


def test_an_empty_mlflow_experiment_is_one_line_and_exit_2(tmp_path: Path) -> None:
    pytest.importorskip("mlflow")
    code, _, err = run_in_process(
        *TINY, "logger=mlflow", "logger.mlflow.experiment=''", "hydra.run.dir=r", cwd=tmp_path
    )
    lines = err.strip().splitlines()
    assert code == 2 and "internal error" not in err, err
    assert len(lines) == 1 and "logger.mlflow.experiment is empty: name the experiment" in lines[0]


def test_an_unknown_wandb_mode_is_one_line_and_exit_2(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytest.importorskip("wandb")
    monkeypatch.setenv("WANDB_MODE", "bogus")
    code, _, err = run_in_process(*TINY, "logger=wandb", "hydra.run.dir=r", cwd=tmp_path)
    lines = err.strip().splitlines()
    assert code == 2 and "internal error" not in err, err
    assert len(lines) == 1 and "WANDB_MODE=bogus: W&B's modes are online, offline" in lines[0]
