"""Find the better model sooner (issue 23): the baseline trial, stop rules and constraints."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import optuna

from hpt.storage import open_storage

REPO = Path(__file__).resolve().parents[2]
SPHERE = REPO / "tests" / "apps" / "sphere" / "sphere.py"
BASELINE = "hydra.sweeper.baseline=true"  # opt-in for a user's app (issue 31)


def sphere(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    cmd = [sys.executable, str(SPHERE), "-m", f"hydra.sweep.dir={tmp_path / 's'}", *args]
    return subprocess.run(cmd, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=240)


def trials(tmp_path: Path, name: str = "sphere") -> list[optuna.trial.FrozenTrial]:
    storage = open_storage(str(tmp_path / "s" / "study.journal"))
    return optuna.load_study(study_name=name, storage=storage).trials


def test_the_base_config_is_trial_0(tmp_path: Path) -> None:
    r = sphere(tmp_path, "hydra.sweeper.n_trials=3", "y=choice(-5, 0, 1, 5)", BASELINE)
    assert r.returncode == 0, r.stderr
    first = trials(tmp_path)[0]
    assert first.params == {"x": 1.0, "y": 1} and first.user_attrs["baseline"] is True
    assert first.value == 2.0  # what the app returns for its own config


def test_a_base_value_outside_its_range_is_moved_inside_and_said(tmp_path: Path) -> None:
    r = sphere(
        tmp_path, "hydra.sweeper.n_trials=2", "x=interval(2, 3)", "y=choice(-5, 0, 1, 5)", BASELINE
    )
    assert r.returncode == 0, r.stderr
    assert "baseline trial: x=2.0 (1 is outside interval(2, 3))" in r.stderr
    assert trials(tmp_path)[0].params == {"x": 2.0, "y": 1}


def test_no_baseline_when_asked_or_when_the_base_choice_is_not_an_option(tmp_path: Path) -> None:
    r = sphere(tmp_path, "hydra.sweeper.n_trials=2", BASELINE)  # y: choice(-5, 0, 5), y=1
    assert r.returncode == 0, r.stderr
    assert "no baseline trial: y=1 is not one of choice(-5 ,0 ,5)" in r.stderr
    r = sphere(
        tmp_path / "off" if (tmp_path / "off").mkdir() is None else tmp_path,
        "hydra.sweeper.n_trials=2",
        "y=choice(-5, 0, 1, 5)",
        "hydra.sweeper.baseline=false",
    )
    assert r.returncode == 0, r.stderr
    assert not any(t.user_attrs.get("baseline") for t in trials(tmp_path / "off"))


def test_stop_target_ends_the_sweep_early_with_its_reason(tmp_path: Path) -> None:
    r = sphere(
        tmp_path,
        "hydra.sweeper.n_trials=30",
        "y=choice(-5, 0, 1, 5)",
        "hydra.sweeper.stop.target=2.5",
        BASELINE,
    )  # the baseline (2.0) reaches it
    assert r.returncode == 0, r.stderr
    assert "sweep stopped early: trial 0 reached the target 2.5 (2)" in r.stdout
    assert len(trials(tmp_path)) == 1
    assert json.loads((tmp_path / "s" / "sweep.json").read_text())["stopped"].startswith(
        "stop rule"
    )


def test_stop_stagnation_ends_the_sweep_after_n_trials_without_a_new_best(tmp_path: Path) -> None:
    r = sphere(tmp_path, "hydra.sweeper.n_trials=40", "hydra.sweeper.stop.stagnation=3")
    assert r.returncode == 0, r.stderr
    done = trials(tmp_path)
    assert 4 <= len(done) < 40 and "no new best in the last 3 finished trials" in r.stdout
    best = min(range(len(done)), key=lambda i: done[i].value)
    assert len(done) - 1 - best == 3  # stopped exactly 3 trials after the last improvement


def test_constraints_mark_infeasible_trials_which_never_win(tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    cmd = [
        sys.executable,
        "-m",
        "hpt",
        "sweep",
        "data=mnist_tiny",
        "trainer.epochs=1",
        "model.width=choice(8, 64)",
        "hydra/sweeper/sampler=grid",
        "hydra.sweeper.n_trials=2",
        "hydra.sweeper.baseline=false",
        "hydra.sweeper.study_name=c",
        f"hydra.sweep.dir={tmp_path / 's'}",
        "hydra.sweeper.constraints={model/n_params: '<=20000'}",
    ]
    r = subprocess.run(cmd, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    by_width = {t.params["model.width"]: t for t in trials(tmp_path, "c")}
    assert (
        by_width[8].constraints["model/n_params"] <= 0 < by_width[64].constraints["model/n_params"]
    )
    record = json.loads(
        (tmp_path / "s" / by_width[64].user_attrs["dir"] / "result.json").read_text()
    )
    assert record["feasible"] is False
    best = json.loads((tmp_path / "s" / "sweep.json").read_text())["best"]
    assert [b["params"]["model.width"] for b in best] == [8]  # even if 64 scored higher


def test_warm_start_adds_an_earlier_sweeps_trials_outside_the_budget(tmp_path: Path) -> None:
    first = tmp_path / "first"
    first.mkdir()
    assert sphere(first, "hydra.sweeper.n_trials=4").returncode == 0
    r = sphere(tmp_path, "hydra.sweeper.n_trials=2", f"hydra.sweeper.warm_start={first / 's'}")
    assert r.returncode == 0, r.stderr
    assert "warm start: added 4 finished trial(s)" in r.stderr
    done = trials(tmp_path)
    warm = [t for t in done if "hpt:warm_start" in t.system_attrs]
    assert len(warm) == 4 and len(done) == 6  # the earlier 4, then this sweep's budget of 2
    assert {t.params["x"] for t in warm} == {t.params["x"] for t in trials(first)}
    counts = json.loads((tmp_path / "s" / "sweep.json").read_text())["counts"]
    assert counts["COMPLETE"] == 2
    # resuming the same sweep adds nothing twice
    assert (
        sphere(
            tmp_path, "hydra.sweeper.n_trials=3", f"hydra.sweeper.warm_start={first / 's'}"
        ).returncode
        == 0
    )
    assert len(trials(tmp_path)) == 7


def test_dry_run_says_when_the_budget_leaves_the_sampler_no_room(tmp_path: Path) -> None:
    # Optuna's own TPE default: 10 random start-up trials
    r = sphere(tmp_path, "hydra.sweeper.n_trials=8", "hydra.sweeper.dry_run=true")
    assert r.returncode == 0, r.stderr
    assert "note: TPESampler samples at random for its first n_startup_trials=10 trials" in r.stdout
    r = sphere(tmp_path, "hydra.sweeper.n_trials=30", "hydra.sweeper.dry_run=true")
    assert "note:" not in r.stdout
