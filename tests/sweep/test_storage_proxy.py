"""``hpt storage-proxy``: Optuna's gRPC proxy in front of a real PostgreSQL study, with four
worker processes sweeping through it (``hydra.sweeper.storage=grpc://HOST:PORT``)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import optuna
import pytest
from helpers import free_port
from helpers.pgserver import (
    PgServer,
    pg_server,  # noqa: F401 (fixture)
)

from hpt.storage import open_storage
from hpt.sweep.running import accounting

REPO = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.postgres


def test_four_workers_sweep_through_the_proxy_to_the_exact_budget(
    pg_server: PgServer,  # noqa: F811
    tmp_path: Path,
) -> None:
    url, port = pg_server.new_database(), free_port()
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proxy = subprocess.Popen(
        [sys.executable, "-m", "hpt", "storage-proxy", url, "--port", str(port)],
        env=env,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proxy.stderr is not None
        line = proxy.stderr.readline()
        assert f"on grpc://127.0.0.1:{port} (no authentication" in line and "***" in line
        deadline = time.time() + 30
        while time.time() < deadline:  # listening once a connection is accepted
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", port)) == 0:
                    break
            time.sleep(0.2)
        cmd = [
            sys.executable,
            str(REPO / "tests" / "apps" / "sphere" / "sphere.py"),
            "-m",
            "hydra.sweeper.n_trials=12",
            "hydra.sweeper.n_jobs=4",
            f"hydra.sweep.dir={tmp_path / 's'}",
            f"hydra.sweeper.storage=grpc://127.0.0.1:{port}",
        ]
        r = subprocess.run(cmd, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=400)
        assert r.returncode == 0, r.stderr[-3000:]
    finally:
        proxy.terminate()
        proxy.wait(timeout=30)
    study = optuna.load_study(study_name="sphere", storage=open_storage(url))  # the database itself
    trials = study.get_trials(deepcopy=False)
    assert len(accounting.finished(trials)) == 12 == accounting.budget_used(trials)
    assert len({t.number for t in trials}) == len(trials)
    owners = {accounting.owner(t)[1] for t in accounting.finished(trials)}
    assert len(owners) >= 2  # more than one worker process took trials


def test_storage_proxy_refuses_what_it_cannot_serve(tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    r = subprocess.run(
        [sys.executable, "-m", "hpt", "storage-proxy", str(tmp_path / "x.journal")],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert r.returncode == 2
    assert r.stderr.strip().splitlines() == [
        f"hpt storage-proxy: error: hpt storage-proxy {tmp_path / 'x.journal'}: give the database URL the proxy serves"
    ]
