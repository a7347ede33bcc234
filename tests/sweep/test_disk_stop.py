"""An error that fails every trial the same way ("No space left on device", a read-only sweep
dir) stops the sweep at the first one with exit 1 and a line naming it, instead of spending the
budget; the same command on a roomy disk then completes the budget exactly."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import optuna

from hpt.storage import open_storage
from hpt.sweep.running import accounting

REPO = Path(__file__).resolve().parents[2]
APP = REPO / "tests" / "apps" / "full" / "full.py"


def _sweep(sweep_dir: Path, full: bool) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    env.pop("HPT_TEST_FULL", None)
    if full:
        env["HPT_TEST_FULL"] = "1"  # the app writes to /dev/full: a real ENOSPC
    cmd = [
        sys.executable,
        str(APP),
        "-m",
        f"hydra.sweep.dir={sweep_dir}",
        "hydra.sweeper.max_failure_rate=1.0",  # the failure-rate rule alone would not stop it
    ]
    return subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=240)


def test_a_full_disk_stops_the_sweep_at_the_first_trial_and_a_rerun_completes_it(
    tmp_path: Path,
) -> None:
    sweep_dir = tmp_path / "sweep"
    r = _sweep(sweep_dir, full=True)
    assert r.returncode == 1 and "Traceback" not in r.stderr, r.stderr[-3000:]
    assert "sweep stopped: trial 0 failed on the disk (No space left on device)" in r.stderr
    assert "rerun the same command to resume" in r.stderr
    storage = open_storage(str(sweep_dir / "study.journal"))
    trials = optuna.load_study(study_name="full", storage=storage).get_trials(deepcopy=False)
    assert [t.state for t in trials] == [optuna.trial.TrialState.FAIL]  # one, none WAITING
    r = _sweep(sweep_dir, full=False)
    assert r.returncode == 0, r.stderr[-3000:]
    study = optuna.load_study(study_name="full", storage=storage)
    trials = study.get_trials(deepcopy=False)
    assert len(accounting.finished(trials)) == 3 == accounting.budget_used(trials)
    assert accounting.disagreements(study, sweep_dir) == []


def test_environment_failure_names_disk_full_read_only_and_quota_errors_in_a_cause_chain() -> None:
    import errno

    from hpt.errors import environment_failure

    for code in (errno.ENOSPC, errno.EROFS, errno.EDQUOT):
        inner = OSError(code, os.strerror(code), "/sweep/trial_0000/result.json")
        try:
            try:
                raise inner
            except OSError as exc:
                raise RuntimeError("the app's own wrapper") from exc
        except RuntimeError as outer:
            assert environment_failure(outer) is inner
    assert environment_failure(OSError(errno.ENOENT, "missing")) is None
    assert environment_failure(ValueError("bad")) is None
    assert environment_failure(None) is None
