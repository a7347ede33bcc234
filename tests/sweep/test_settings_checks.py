"""Sweeper settings that were accepted and then ignored or misused: an unknown stop rule
(``+hydra.sweeper.stop.X``), a stop rule on a multi-objective search (one line and exit 2 before
anything runs), and more workers than trials (a 1-trial sweep starts one worker)."""

from __future__ import annotations

from pathlib import Path

import pytest
from helpers import run_in_process

DRY = ["data=mnist_tiny", "optimizer.lr=interval(0.01, 0.1)", "hydra.sweeper.dry_run=true"]


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (["+hydra.sweeper.stop.nope=1"], "hydra.sweeper.stop.nope is not a stop rule"),
        (
            ["search=pareto", "hydra.sweeper.stop.target=0.9"],
            "hydra.sweeper.stop.target needs a single objective; this sweep has 2",
        ),
        (
            ["search=pareto", "hydra.sweeper.stop.stagnation=3"],
            "hydra.sweeper.stop.stagnation needs a single objective",
        ),
    ],
    ids=["unknown_rule", "target_pareto", "stagnation_pareto"],
)
def test_a_stop_rule_that_cannot_apply_is_one_line_and_exit_2(
    tmp_path: Path, overrides: list[str], message: str
) -> None:
    code, _, err = run_in_process(
        "sweep", *DRY, *overrides, f"hydra.sweep.dir={tmp_path / 's'}", cwd=tmp_path
    )
    lines = err.strip().splitlines()
    assert code == 2 and len(lines) == 1 and message in lines[0], err


def test_a_one_trial_sweep_starts_one_worker_whatever_n_jobs_says(tmp_path: Path) -> None:
    code, _, err = run_in_process(
        "sweep",
        "data=mnist_tiny",
        "data.subset=200",
        "trainer.epochs=1",
        "trainer.device=cpu",
        "trainer.quiet=true",
        "optimizer.lr=interval(0.01, 0.1)",
        "hydra.sweeper.n_trials=1",
        "hydra.sweeper.n_jobs=8",
        f"hydra.sweep.dir={tmp_path / 's'}",
        cwd=tmp_path,
    )
    assert code == 0, err
    assert "starting 8 worker processes" not in err  # one worker: in this process
    assert len(list((tmp_path / "s").glob("trial_*/result.json"))) == 1


def test_a_constraint_on_a_metric_no_trial_records_stops_after_the_first_trial(
    tmp_path: Path,
) -> None:
    code, _, err = run_in_process(
        "sweep",
        "data=mnist_tiny",
        "data.subset=200",
        "trainer.epochs=1",
        "trainer.device=cpu",
        "trainer.quiet=true",
        "optimizer.lr=interval(0.01, 0.1)",
        "hydra.sweeper.n_trials=4",
        "hydra.sweeper.constraints={val/acuracy: '>=0.5'}",  # a typo: no run records it
        f"hydra.sweep.dir={tmp_path / 's'}",
        cwd=tmp_path,
    )
    lines = [line for line in err.strip().splitlines() if "error" in line]
    assert code == 2 and len(lines) == 1, err
    assert "hydra.sweeper.constraints names val/acuracy, which trial 0 did not record" in lines[0]
    assert len(list((tmp_path / "s").glob("trial_*/result.json"))) == 1  # not the whole budget
