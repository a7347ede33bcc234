"""A disk that fills mid-sweep (a real 3 MB tmpfs, mounted by the test where it runs as root):
the sweep ends with the trials' own errors naming the file, exit 1, the study and every
record consistent; on a roomier disk the same command completes the budget (issue 20)."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import optuna
import pytest
from helpers import mounted_tmpfs

from hpt.storage import open_storage
from hpt.sweep.running import accounting

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    with mounted_tmpfs(tmp_path / "disk", "3m") as mnt:
        yield mnt


def _sweep(cwd: Path, sweep_dir: Path) -> subprocess.CompletedProcess[str]:
    cmd = [
        sys.executable,
        "-m",
        "hpt",
        "sweep",
        "data=mnist_tiny",
        "trainer.epochs=2",
        "model.width=128",
        "optimizer.lr=tag(log, interval(1e-3, 1e-1))",
        "hydra.sweeper.n_trials=4",
        "hydra.sweeper.study_name=full",
        f"hydra.sweep.dir={sweep_dir}",
    ]
    env = {**os.environ, "PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1"}
    return subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=400)


def test_a_disk_filling_mid_sweep_then_a_resume_on_a_roomier_one(small_disk: Path) -> None:
    sweep_dir = small_disk / "s"
    r = _sweep(small_disk.parent, sweep_dir)
    assert r.returncode == 1, r.stderr[-3000:]
    assert "internal error" not in r.stderr and "Traceback" not in r.stderr
    assert f"No space left on device: '{sweep_dir}/trial_000" in r.stderr  # names the file
    study = optuna.load_study(
        study_name="full", storage=open_storage(str(sweep_dir / "study.journal"))
    )
    assert accounting.disagreements(study, sweep_dir) == []
    # the same command on a roomier disk finishes the budget, and every record agrees
    subprocess.run(["mount", "-o", "remount,size=80m", str(small_disk)], check=True)
    r = _sweep(small_disk.parent, sweep_dir)
    assert r.returncode == 0, r.stderr[-3000:]
    study = optuna.load_study(
        study_name="full", storage=open_storage(str(sweep_dir / "study.journal"))
    )
    trials = study.get_trials(deepcopy=False)
    assert len(accounting.finished(trials)) == 4 == accounting.budget_used(trials)
    assert trials[-1].state == optuna.trial.TrialState.COMPLETE
    assert accounting.disagreements(study, sweep_dir) == []
