"""A worker process killed (SIGKILL: the OOM killer, a node lost) while it runs the *last*
trial of the budget: the sweep still ends with every counted trial final and the budget exact,
and the study, each trial's ``result.json`` and ``sweep.json`` agree."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import optuna
from optuna.trial import TrialState

from hpt.rundir import RESULT, read_json
from hpt.storage import open_storage
from hpt.sweep.running import accounting

REPO = Path(__file__).resolve().parents[2]
APPS = REPO / "tests" / "apps"


def _load(sweep_dir: Path, name: str) -> optuna.Study:
    return optuna.load_study(
        study_name=name, storage=open_storage(str(sweep_dir / "study.journal"))
    )


def _kill_the_last_trials_worker(
    cmd: list[str], sweep_dir: Path, name: str, last: int
) -> tuple[int, str]:
    env = {**os.environ, "PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1"}
    proc = subprocess.Popen(
        cmd,
        cwd=sweep_dir.parent,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline, victim = time.time() + 180, None
        while victim is None and time.time() < deadline and proc.poll() is None:
            time.sleep(0.3)
            if not (sweep_dir / "study.journal").exists():
                continue
            for t in _load(sweep_dir, name).get_trials(
                deepcopy=False, states=(TrialState.RUNNING,)
            ):
                _, pid = accounting.owner(t)
                if t.number == last and isinstance(pid, int) and pid != proc.pid:
                    victim = pid
        assert victim is not None, "the last trial never ran in a worker process"
        os.kill(victim, signal.SIGKILL)
        out, _ = proc.communicate(timeout=240)
    finally:
        if proc.poll() is None:
            proc.kill()
    return proc.returncode, out


def _assert_budget_exact_and_records_agree(sweep_dir: Path, name: str, n: int, last: int) -> None:
    study = _load(sweep_dir, name)
    trials = study.get_trials(deepcopy=False)
    assert len(accounting.finished(trials)) == n == accounting.budget_used(trials)
    assert not [t for t in trials if t.state in (TrialState.RUNNING, TrialState.WAITING)]
    dead = next(t for t in trials if t.number == last)
    assert dead.state == TrialState.FAIL and dead.user_attrs["error_kind"] == "worker_died"
    record = read_json(sweep_dir / dead.user_attrs["dir"] / RESULT)
    assert record is not None and record["status"] == "FAIL"
    assert record["error_kind"] == "worker_died"
    retry = [t for t in trials if t.user_attrs.get("retry_of") == last]
    assert len(retry) == 1 and retry[0].state == TrialState.COMPLETE
    assert accounting.disagreements(study, sweep_dir) == []


def test_sigkill_of_a_user_app_worker_on_the_last_trial_keeps_the_budget(tmp_path: Path) -> None:
    sweep_dir = tmp_path / "sweep"
    cmd = [sys.executable, str(APPS / "sleepy" / "sleepy.py"), "-m", f"hydra.sweep.dir={sweep_dir}"]
    rc, out = _kill_the_last_trials_worker(cmd, sweep_dir, "sleepy", last=2)
    assert rc == 0, out[-3000:]
    assert "worker(s) died (exit code -9)" in out
    _assert_budget_exact_and_records_agree(sweep_dir, "sleepy", 3, last=2)


def test_sigkill_of_an_hpt_worker_on_the_last_trial_keeps_the_budget(tmp_path: Path) -> None:
    sweep_dir = tmp_path / "sweep"
    cmd = [
        sys.executable,
        "-m",
        "hpt",
        "sweep",
        "data=mnist_tiny",
        # trial 0 runs in the sweep's own process (its worker 0) for a few seconds, long
        # enough for the spawned worker to start and take the last trial, which is killed
        "trainer.epochs=60",
        "trainer.device=cpu",
        "hydra/sweeper/sampler=random",
        "optimizer.lr=tag(log, interval(1e-3, 1e-2))",
        "hydra.sweeper.n_trials=2",
        "hydra.sweeper.n_jobs=2",
        "hydra.sweeper.study_name=last",
        f"hydra.sweep.dir={sweep_dir}",
    ]
    rc, out = _kill_the_last_trials_worker(cmd, sweep_dir, "last", last=1)
    assert rc == 0, out[-3000:]
    _assert_budget_exact_and_records_agree(sweep_dir, "last", 2, last=1)
