"""Summaries that do not mislead: twins once, internal overrides hidden, honest importance,
re-queued originals counted as retried."""

from __future__ import annotations

import re
from pathlib import Path

import optuna
import pytest
from helpers.summarize_fixtures import write_run, write_sweep

from hpt.storage import open_storage
from hpt.summarize.cli import main
from hpt.summarize.collect import collect_runs
from hpt.summarize.columns import varying_params
from hpt.summarize.study import study_importance


def _summary(tmp_path: Path, capsys: pytest.CaptureFixture[str], *args: str) -> str:
    assert main([str(tmp_path / "s"), "--width", "200", "--no-study", *args]) == 0
    return capsys.readouterr().out


def _dropout_sweep(path: Path, n: int) -> Path:
    """``model.dropout: ${regularization.dropout}``: the run's params hold both, equal."""
    sweep = write_sweep(path, search_space={"regularization.dropout": "interval(0, 0.5)"})
    for i in range(n):
        d = round(0.05 * (i + 1), 3)
        write_run(
            sweep / f"trial_{i:04d}",
            trial=i,
            value=0.9 + d / 10,
            params={"model.dropout": d, "regularization.dropout": d},  # the twin comes first
            overrides=[f"regularization.dropout={d}", "trainer.quiet=true"],
        )
    return sweep


def test_an_interpolated_twin_is_shown_once_under_its_searched_name(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _dropout_sweep(tmp_path / "s", 6)
    frame = collect_runs([tmp_path / "s"]).frame
    assert varying_params(frame) == ["params.regularization.dropout"]
    out = _summary(tmp_path, capsys)
    assert "regularization.dropout" in out
    assert "model.dropout" not in out  # not in the table, the best config or importance


def test_internal_overrides_are_hidden(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _dropout_sweep(tmp_path / "s", 3)
    out = _summary(tmp_path, capsys)
    assert re.search(r"^overrides: regularization\.dropout=0\.15$", out, re.M), out
    assert "trainer.quiet" not in out


def test_importance_says_how_many_trials_and_rough_under_20(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _dropout_sweep(tmp_path / "s", 6)
    assert "Hyperparameter importance (n=6, rough)" in _summary(tmp_path, capsys)
    for i in range(6, 21):
        write_run(tmp_path / "s" / f"trial_{i:04d}", trial=i, value=0.9 + i / 1000)
    out = _summary(tmp_path, capsys)
    assert "Hyperparameter importance (n=21)" in out and "rough" not in out


def test_study_importance_leaves_out_never_sampled_settings(tmp_path: Path) -> None:
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(
        storage=open_storage(str(tmp_path / "study.journal")),
        direction="maximize",
        sampler=optuna.samplers.RandomSampler(seed=0),
    )
    for _ in range(8):
        trial = study.ask()
        lr = trial.suggest_float("optimizer.lr", 1e-4, 1e-1, log=True)
        trial.suggest_categorical("model.act", ["relu"])  # a choice of one: never sampled
        hidden = trial.suggest_int("model.hidden", 16, 256)
        study.tell(trial, lr * 10 + hidden / 1000)
    importance = study_importance(study)
    assert set(importance.values) == {"optimizer.lr", "model.hidden"}
    assert importance.n == 8 and importance.basis() == "n=8, rough"


def test_requeued_originals_are_counted_as_retried_not_failed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    sweep = write_sweep(tmp_path / "s")
    write_run(sweep / "trial_0000", trial=0, value=0.9, params={"optimizer.lr": 0.01})
    # interrupted, re-queued as trial 2 which finished
    write_run(
        sweep / "trial_0001",
        trial=1,
        status="FAIL",
        value=None,
        error="interrupted (SIGTERM)",
        error_kind="interrupted",
        params={"optimizer.lr": 0.02},
    )
    write_run(sweep / "trial_0002", trial=2, value=0.91, params={"optimizer.lr": 0.02})
    # worker died, re-queued as trial 4 whose worker died again: the copy is a real failure
    for number in (3, 4):
        write_run(
            sweep / f"trial_{number:04d}",
            trial=number,
            status="FAIL",
            value=None,
            error="worker died",
            error_kind="worker_died",
            params={"optimizer.lr": 0.03},
        )
    frame = collect_runs([sweep]).frame.set_index("name")
    assert frame.loc["trial_0001", "status"] == "RETRIED"
    assert frame.loc["trial_0001", "retried_by"] == "trial_0002"
    assert frame.loc["trial_0003", "status"] == "RETRIED"
    assert frame.loc["trial_0004", "status"] == "FAIL"
    out = _summary(tmp_path, capsys)
    assert "COMPLETE 2  PRUNED 0  FAIL 1  RUNNING 0  RETRIED 2" in out
    assert "Failures (1)" in out
