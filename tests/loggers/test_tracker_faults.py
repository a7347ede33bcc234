"""Trackers never hang, never lose a run, never kill one: a real ``mlflow server`` on loopback.

An unreachable server is one line and exit 2 within seconds (MLflow alone retried for 4-5
minutes, then `internal error`); a server killed mid-run is one warning in result.json and
the run keeps its own outcome (it used to hang ~745 s and exit 1 on a COMPLETE run); the
sweep's parent run ends with the sweep's state.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest
from helpers import cli_env
from helpers.mlflow_server import free_port, mlflow_server

from hpt.loggers import RunInfo, track
from hpt.rundir import RESULT, atomic_write_json, read_json

EPOCH = {"train/loss": 0.9, "val/loss": 0.8, "val/acc": 0.5}


def test_an_unreachable_tracking_server_is_one_line_and_exit_2_within_seconds(
    tmp_path: Path,
) -> None:
    uri = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    started = time.monotonic()
    ran = subprocess.run(
        [
            sys.executable,
            "-m",
            "hpt",
            "train",
            "data=mnist_tiny",
            "trainer.device=cpu",
            "logger=mlflow",
            f"logger.mlflow.tracking_uri={uri}",
            f"hydra.run.dir={tmp_path / 'run'}",
        ],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=cli_env(),
        timeout=300,
    )
    elapsed = time.monotonic() - started
    assert ran.returncode == 2, ran.stderr
    (line,) = ran.stderr.strip().splitlines()
    assert line.startswith(
        f"hpt train: error: logger.mlflow.tracking_uri={uri}: the tracking server"
    )
    assert elapsed < 60  # interpreter, torch and Hydra included; the probe itself is <= 5 s


def test_a_tracking_server_killed_mid_run_is_one_warning_and_the_run_keeps_its_outcome(
    tmp_path: Path,
) -> None:
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    atomic_write_json(run_dir / RESULT, {"status": "RUNNING"})
    info = RunInfo(run_dir, {"optimizer.lr": 0.1}, None, tmp_path)
    with mlflow_server(tmp_path) as server:
        with track({"mlflow": {"tracking_uri": server.uri, "experiment": "e"}}, info) as loggers:
            loggers.log_metrics({"epoch": 1, **EPOCH}, 1)
            server.kill()
            killed = time.monotonic()
            for epoch in (2, 3, 4):  # training goes on
                loggers.log_metrics({"epoch": epoch, **EPOCH}, epoch)
            atomic_write_json(run_dir / RESULT, {"status": "COMPLETE", "best": {"val/acc": 0.5}})
        took = time.monotonic() - killed
    result = read_json(run_dir / RESULT)
    assert result["status"] == "COMPLETE"  # the run's own outcome
    (warning,) = result["warnings"]  # one warning, however many calls failed
    assert warning.startswith("logger=mlflow failed and was stopped, the run goes on: ")
    assert loggers.loggers == []
    assert took < 60, took  # MLflow's defaults waited minutes here


@pytest.mark.slow
def test_hpt_train_with_its_tracking_server_killed_mid_run_exits_0(tmp_path: Path) -> None:
    """End to end: the server dies after epoch 2 of a real `hpt train` run."""
    run_dir = tmp_path / "run"
    with mlflow_server(tmp_path) as server:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "hpt",
                "train",
                "data=mnist_tiny",
                "trainer.device=cpu",
                "trainer.epochs=30",
                "logger=mlflow",
                f"logger.mlflow.tracking_uri={server.uri}",
                f"hydra.run.dir={run_dir}",
                "--quiet",
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            cwd=tmp_path,
            env=cli_env(),
        )
        deadline = time.monotonic() + 300
        while (
            not (run_dir / "metrics.jsonl").exists()
            or len((run_dir / "metrics.jsonl").read_text().splitlines()) < 2
        ):
            assert proc.poll() is None and time.monotonic() < deadline, proc.communicate()
            time.sleep(0.05)
        server.kill()
        _, err = proc.communicate(timeout=600)
    assert proc.returncode == 0, err
    result = read_json(run_dir / RESULT)
    assert result["status"] == "COMPLETE" and result["epochs"] == 30
    assert len(result["warnings"]) == 1 and "logger=mlflow" in result["warnings"][0]


def test_the_sweeps_parent_run_ends_with_the_sweeps_state(tmp_path: Path) -> None:
    from mlflow import MlflowClient

    from hpt.loggers.mlflow_logger import PARENT_FILE, end_parent

    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    sweep = tmp_path / "sweep"
    for number, state in ((0, "COMPLETE"), (1, "FAIL")):
        run_dir = sweep / f"trial_{number:04d}"
        run_dir.mkdir(parents=True)
        atomic_write_json(run_dir / RESULT, {"status": state})
        info = RunInfo(run_dir, {}, {"number": number, "study_name": "s"}, tmp_path)
        with track({"mlflow": {"tracking_uri": uri}}, info) as loggers:
            loggers.log_metrics({"epoch": 1, **EPOCH}, 1)
    assert end_parent(sweep, "COMPLETE")
    client = MlflowClient(tracking_uri=uri)
    parent = client.get_run(read_json(sweep / PARENT_FILE)["run_id"])
    assert parent.info.status == "FINISHED" and parent.data.tags["state"] == "COMPLETE"
    assert not end_parent(tmp_path / "no-sweep", "COMPLETE")
    # MLflow 3 opens the study's experiment as model training, not as GenAI traces
    assert client.get_experiment_by_name("s").tags["mlflow.experimentKind"] == (
        "custom_model_development"
    )


def test_workers_opening_a_fresh_sqlite_store_together_all_log(tmp_path: Path) -> None:
    """`n_jobs=2` on a fresh store raced in MLflow's schema migration; now one at a time."""
    code = (
        "import sys, time; from pathlib import Path\n"
        "from hpt.loggers import RunInfo, open_loggers\n"
        "while time.time() < float(sys.argv[3]): time.sleep(0.005)\n"  # start together
        "lg = open_loggers({'mlflow': {'tracking_uri': sys.argv[1]}},"
        " RunInfo(Path(sys.argv[2]), {}, {'number': 0, 'study_name': 's'}, Path(sys.argv[2])))\n"
        "lg.log_metrics({'epoch': 1, 'val/acc': 0.5}, 1); lg.finish('COMPLETE', {})\n"
        "assert not lg.warnings, lg.warnings\n"
    )
    uri = f"sqlite:///{tmp_path / 'fresh.db'}"
    start = time.time() + 8  # after every interpreter has imported mlflow
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", code, uri, str(tmp_path / "sweep" / f"trial_{i}"), str(start)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=cli_env(),
        )
        for i in range(3)
    ]
    for p in procs:
        _, err = p.communicate(timeout=300)
        assert p.returncode == 0, err[-3000:]


def test_a_real_sweep_logged_to_mlflow_ends_its_parent_run(tmp_path: Path) -> None:
    """hpt sweep logger=mlflow with two workers on a fresh SQLite store: every trial logs, and
    the study's parent run ends FINISHED with the sweep's state (it stayed RUNNING before)."""
    import os
    import subprocess
    import sys

    from mlflow import MlflowClient

    from hpt.loggers.mlflow_logger import PARENT_FILE

    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    sweep = tmp_path / "sweep"
    cmd = [
        sys.executable,
        "-m",
        "hpt",
        "sweep",
        "data=mnist_tiny",
        "trainer.epochs=1",
        "model.width=8",
        "model.depth=choice(1, 2)",
        "hydra/sweeper/sampler=grid",
        "hydra.sweeper.n_jobs=2",
        "logger=mlflow",
        f"logger.mlflow.tracking_uri={uri}",
        f"hydra.sweep.dir={sweep}",
    ]
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    r = subprocess.run(cmd, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr[-3000:]
    client = MlflowClient(tracking_uri=uri)
    parent = client.get_run(read_json(sweep / PARENT_FILE)["run_id"])
    assert parent.info.status == "FINISHED" and parent.data.tags["state"] == "COMPLETE"
    children = client.search_runs(
        [parent.info.experiment_id], f"tags.mlflow.parentRunId = '{parent.info.run_id}'"
    )
    assert len(children) == 2 and all(c.info.status == "FINISHED" for c in children)
