"""Pruner settings derived from trainer.epochs (issue 23 item 3), chosen by the replay benchmark.

The rule itself (``first_rung``) and its reach: a real `hpt sweep` whose pruned trials all
trained at least the first rung's epochs, and `--dry-run` showing the resolved settings.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from hpt.sweep.planning.pruning import first_rung, fit_to_epochs

REPO = Path(__file__).resolve().parents[2]
HYPERBAND = {
    "_target_": "optuna.pruners.HyperbandPruner",
    "min_resource": "auto",
    "max_resource": "auto",
    "reduction_factor": 3,
}


def hpt(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    cmd = [sys.executable, "-m", "hpt", "sweep", *args, f"hydra.sweep.dir={tmp_path / 's'}"]
    return subprocess.run(cmd, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)


@pytest.mark.parametrize(
    ("epochs", "rung"), [(1, 1), (2, 1), (3, 2), (5, 2), (8, 2), (9, 1), (20, 1)]
)
def test_the_first_rung_follows_the_trial_length(epochs: int, rung: int) -> None:
    assert first_rung(epochs) == rung
    fitted = fit_to_epochs(HYPERBAND, epochs)
    assert fitted is not None
    assert (fitted["min_resource"], fitted["max_resource"]) == (rung, epochs)


def test_what_the_user_sets_is_kept_and_user_apps_keep_optunas_auto() -> None:
    mine = fit_to_epochs({**HYPERBAND, "min_resource": 1, "max_resource": 7}, 3)
    assert mine is not None and (mine["min_resource"], mine["max_resource"]) == (1, 7)
    app = fit_to_epochs(HYPERBAND, None)  # a user app: its trial length is unknown
    assert app is not None and (app["min_resource"], app["max_resource"]) == (1, "auto")
    sha = {"_target_": "optuna.pruners.SuccessiveHalvingPruner", "min_resource": "auto"}
    assert fit_to_epochs(sha, None) == sha and fit_to_epochs(sha, 3)["min_resource"] == 2  # type: ignore[index]
    median = {"_target_": "optuna.pruners.MedianPruner", "n_warmup_steps": "auto"}
    assert fit_to_epochs(median, 3)["n_warmup_steps"] == 2  # type: ignore[index]
    assert fit_to_epochs(None, 3) is None


def test_dry_run_shows_the_resolved_settings(tmp_path: Path) -> None:
    r = hpt(
        tmp_path, "search=tpe", "trainer.epochs=3", "data=mnist_tiny", "hydra.sweeper.dry_run=true"
    )
    assert r.returncode == 0, r.stderr
    assert "pruner settings: min_resource=2, max_resource=3, reduction_factor=3" in r.stdout


def test_no_trial_of_a_three_epoch_sweep_is_pruned_before_epoch_two(tmp_path: Path) -> None:
    r = hpt(
        tmp_path,
        "search=tpe",
        "trainer.epochs=3",
        "data=mnist_tiny",
        "hydra.sweeper.n_trials=10",
        "+hydra.sweeper.sampler.n_startup_trials=2",
    )
    assert r.returncode == 0, r.stderr
    results = [json.loads(p.read_text()) for p in (tmp_path / "s").glob("trial_*/result.json")]
    pruned = [x for x in results if x["status"] == "PRUNED"]
    assert len(results) == 10 and pruned, [x["status"] for x in results]
    assert all(x["epochs"] >= 2 for x in pruned), [x["epochs"] for x in pruned]
