"""Loopback unless told, and told loudly: ``hpt dashboard`` and ``hpt storage-proxy`` (no
authentication either) listen on 127.0.0.1 by default and warn on any other address; a bad
port, a port in use or a host not ours is one line and exit 2."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from helpers import cli_env, run_in_process


@pytest.fixture
def journal(tmp_path: Path) -> Path:
    """A study journal holding one empty study."""
    import optuna
    from optuna.storages import JournalStorage
    from optuna.storages.journal import JournalFileBackend

    path = tmp_path / "study.journal"
    optuna.create_study(storage=JournalStorage(JournalFileBackend(str(path))), study_name="s")
    return path


@pytest.fixture
def taken_port() -> Iterator[int]:
    """A loopback port something listens on."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        yield int(s.getsockname()[1])


def _serve(*args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "hpt", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=cli_env(),
        start_new_session=True,
    )


def _stop(server: subprocess.Popen[str]) -> str:
    """Ctrl-C the server; what it wrote to stderr."""
    os.killpg(server.pid, signal.SIGINT)
    _, err = server.communicate(timeout=30)
    return err


def test_the_dashboard_listens_on_loopback_and_warns_on_any_other_address(journal: Path) -> None:
    pytest.importorskip("optuna_dashboard")
    server = _serve("dashboard", str(journal), "--port", "0")
    try:
        line = server.stdout.readline() if server.stdout else ""
    finally:
        err = _stop(server)
    assert line.startswith("optuna-dashboard: http://127.0.0.1:"), err
    assert "warning" not in err
    server = _serve("dashboard", str(journal), "--host", "0.0.0.0", "--port", "0")
    try:
        warning = server.stderr.readline() if server.stderr else ""
        line = server.stdout.readline() if server.stdout else ""
    finally:
        _stop(server)
    assert line.startswith("optuna-dashboard: http://0.0.0.0:")
    assert warning.startswith("hpt dashboard: warning: listening on 0.0.0.0, not loopback")
    assert "no authentication" in warning and "edit and delete studies" in warning


def test_a_bad_dashboard_port_is_one_line_and_exit_2(
    journal: Path, taken_port: int, tmp_path: Path
) -> None:
    pytest.importorskip("optuna_dashboard")
    for port, message in (
        ("70000", "--port 70000: must be in 0..65535"),
        ("-1", "--port -1: must be in 0..65535"),
        (str(taken_port), f"cannot listen on 127.0.0.1:{taken_port}: Address already in use"),
    ):
        code, _, err = run_in_process("dashboard", str(journal), "--port", port, cwd=tmp_path)
        (line,) = err.strip().splitlines()
        assert code == 2 and line.startswith(f"hpt dashboard: error: {message}"), err


def test_storage_proxy_on_a_port_in_use_is_one_line_and_warns_off_loopback(
    taken_port: int, tmp_path: Path
) -> None:
    pytest.importorskip("grpc")
    url = f"sqlite:///{tmp_path / 'db.sqlite'}"
    for host in ("127.0.0.1", "0.0.0.0"):
        command = ["storage-proxy", url, "--host", host, "--port", str(taken_port)]
        r = subprocess.run(
            [sys.executable, "-m", "hpt", *command],
            env=cli_env(),
            capture_output=True,
            text=True,
            timeout=120,
        )
        lines = r.stderr.strip().splitlines()
        assert r.returncode == 2 and "Traceback" not in r.stderr, r.stderr
        assert lines[-1] == (
            f"hpt storage-proxy: error: cannot listen on {host}:{taken_port}: the port is in "
            "use, or the host is not an address of this machine"
        )
        warned = [x for x in lines if x.startswith("hpt storage-proxy: warning: listening on")]
        assert len(warned) == (host != "127.0.0.1")
