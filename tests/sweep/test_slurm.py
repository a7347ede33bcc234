"""Sweeps on a real one-node SLURM cluster: the workers are one job array submitted through
hydra-submitit-launcher (``hydra/launcher=submitit_slurm``), each task running the ask -> run
-> tell loop against the shared study (issue 22). Skipped, with the reason, where SLURM cannot
run (not installed, not root); ``.ci/run`` installs it."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import optuna
import pytest
from helpers.slurm import Cluster, start_cluster, why_not

from hpt.storage import open_storage
from hpt.sweep.running import accounting

REPO = Path(__file__).resolve().parents[2]
APPS = REPO / "tests" / "apps"
pytest.importorskip("hydra_plugins.hydra_submitit_launcher")


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    reason = why_not()
    if reason:
        pytest.skip(reason)
    try:
        c = start_cluster(tmp_path_factory.mktemp("slurm"))
    except (RuntimeError, OSError, subprocess.SubprocessError) as exc:
        pytest.skip(f"a one-node SLURM cluster could not be started here: {exc}")
    yield c
    c.stop()


def _env(cluster: Cluster) -> dict[str, str]:
    return {**cluster.env, "PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1"}


def _study(sweep_dir: Path, name: str) -> optuna.Study:
    return optuna.load_study(
        study_name=name, storage=open_storage(str(sweep_dir / "study.journal"))
    )


def _budget_exact(study: optuna.Study, n: int) -> list[optuna.trial.FrozenTrial]:
    trials = study.get_trials(deepcopy=False)
    assert len(accounting.finished(trials)) == n == accounting.budget_used(trials)
    assert len({t.number for t in trials}) == len(trials)
    return trials


def test_hpt_sweep_runs_its_budget_as_a_slurm_job_array(cluster: Cluster, tmp_path: Path) -> None:
    sweep_dir = tmp_path / "s"
    cmd = [
        sys.executable,
        "-m",
        "hpt",
        "sweep",
        "data=mnist_tiny",
        "trainer.epochs=1",
        "model.width=16",
        "optimizer.lr=tag(log, interval(1e-3, 1e-1))",
        "hydra.sweeper.n_trials=6",
        "hydra.sweeper.n_jobs=2",
        "hydra.sweeper.study_name=slurm",
        "hydra/launcher=submitit_slurm",
        f"hydra.sweep.dir={sweep_dir}",
    ]
    r = subprocess.run(
        cmd, cwd=tmp_path, env=_env(cluster), capture_output=True, text=True, timeout=600
    )
    assert r.returncode == 0, r.stderr[-3000:]
    assert "submitted 2 workers as slurm job array" in r.stderr
    trials = _budget_exact(_study(sweep_dir, "slurm"), 6)
    arrays = set()
    for t in accounting.finished(trials):
        manifest = json.loads((sweep_dir / t.user_attrs["dir"] / "manifest.json").read_text())
        assert manifest["slurm"]["array_task_id"] in ("0", "1")  # ran inside a SLURM array task
        arrays.add(manifest["slurm"]["array_job_id"])
    assert len(arrays) == 1
    assert cluster.drained() == []


def test_a_user_app_under_hpts_sweeper_runs_as_slurm_workers(
    cluster: Cluster, tmp_path: Path
) -> None:
    sweep_dir = tmp_path / "s"
    cmd = [
        sys.executable,
        str(APPS / "sphere" / "sphere.py"),
        "-m",
        "hydra.sweeper.n_trials=6",
        "hydra.sweeper.n_jobs=2",
        "hydra/launcher=submitit_slurm",
        f"hydra.sweep.dir={sweep_dir}",
    ]
    r = subprocess.run(
        cmd, cwd=tmp_path, env=_env(cluster), capture_output=True, text=True, timeout=600
    )
    assert r.returncode == 0, r.stderr[-3000:]
    trials = _budget_exact(_study(sweep_dir, "sphere"), 6)
    owners = {t.system_attrs[accounting.A_OWNER].get("slurm_array_task_id") for t in trials}
    assert owners <= {"0", "1"} and owners  # every trial ran in an array task
    assert (sweep_dir / "optimization_results.yaml").exists()


def _wait_running(
    sweep_dir: Path, name: str, proc: subprocess.Popen[str]
) -> optuna.trial.FrozenTrial:
    deadline = time.time() + 300
    while time.time() < deadline and proc.poll() is None:
        if (sweep_dir / "study.journal").exists():
            running = _study(sweep_dir, name).get_trials(
                deepcopy=False, states=(optuna.trial.TrialState.RUNNING,)
            )
            if running:
                return running[0]
        time.sleep(0.5)
    raise AssertionError("no trial started in a SLURM worker")


def test_scancel_of_a_worker_mid_trial_loses_nothing(cluster: Cluster, tmp_path: Path) -> None:
    sweep_dir = tmp_path / "s"
    cmd = [
        sys.executable,
        str(APPS / "sleepy" / "sleepy.py"),
        "-m",
        "hydra.sweeper.n_trials=3",
        "sleep=8",
        "hydra/launcher=submitit_slurm",
        f"hydra.sweep.dir={sweep_dir}",
    ]
    proc = subprocess.Popen(
        cmd,
        cwd=tmp_path,
        env=_env(cluster),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        victim = _wait_running(sweep_dir, "sleepy", proc)
        owner = victim.system_attrs[accounting.A_OWNER]
        # SLURM 22.05 cancels an array task by ARRAY_TASK, not by its own job id
        task = f"{owner['slurm_array_job_id']}_{owner['slurm_array_task_id']}"
        subprocess.run(["scancel", task], env=cluster.env, check=True, timeout=30)
        out, _ = proc.communicate(timeout=400)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, out[-3000:]
    trials = _budget_exact(_study(sweep_dir, "sleepy"), 3)
    dead = next(t for t in trials if t.number == victim.number)
    assert dead.state == optuna.trial.TrialState.FAIL, out[-3000:]
    assert dead.user_attrs["error_kind"] == "worker_died"
    assert "cancelled, preempted" in dead.user_attrs["error"]
    retry = next(t for t in trials if t.user_attrs.get("retry_of") == victim.number)
    assert retry.state == optuna.trial.TrialState.COMPLETE
    assert cluster.drained() == []


def test_ctrl_c_of_the_submitter_cancels_the_array(cluster: Cluster, tmp_path: Path) -> None:
    sweep_dir = tmp_path / "s"
    cmd = [
        sys.executable,
        str(APPS / "sleepy" / "sleepy.py"),
        "-m",
        "hydra.sweeper.n_trials=6",
        "sleep=30",
        "hydra/launcher=submitit_slurm",
        f"hydra.sweep.dir={sweep_dir}",
    ]
    proc = subprocess.Popen(
        cmd,
        cwd=tmp_path,
        env=_env(cluster),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        _wait_running(sweep_dir, "sleepy", proc)
        proc.send_signal(signal.SIGINT)
        out, _ = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130, out[-3000:]
    assert cluster.drained() == []


def test_detach_returns_after_submission_and_the_sweep_finishes(
    cluster: Cluster, tmp_path: Path
) -> None:
    sweep_dir = tmp_path / "s"
    cmd = [
        sys.executable,
        str(APPS / "sphere" / "sphere.py"),
        "-m",
        "hydra.sweeper.n_trials=4",
        "hydra.sweeper.detach=true",
        "hydra/launcher=submitit_slurm",
        f"hydra.sweep.dir={sweep_dir}",
    ]
    r = subprocess.run(
        cmd, cwd=tmp_path, env=_env(cluster), capture_output=True, text=True, timeout=300
    )
    assert r.returncode == 0, r.stderr[-3000:]
    assert f"detached; follow it with: hpt summarize {sweep_dir}" in r.stderr
    deadline = time.time() + 300
    while time.time() < deadline:
        if len(accounting.finished(_study(sweep_dir, "sphere").get_trials(deepcopy=False))) == 4:
            break
        time.sleep(1)
    _budget_exact(_study(sweep_dir, "sphere"), 4)
