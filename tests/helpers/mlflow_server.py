"""A real ``mlflow server`` on a free loopback port, for the tracker tests."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from helpers import free_port


def wait_http(url: str, proc: subprocess.Popen, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"server exited with {proc.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except OSError:
            time.sleep(0.3)
    raise AssertionError(f"{url} did not answer in {timeout} s")


@dataclass
class MlflowServer:
    uri: str
    proc: subprocess.Popen

    def kill(self) -> None:
        """SIGKILL the server and the workers it started, as a crash would."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=60)


@contextlib.contextmanager
def mlflow_server(base: Path) -> Iterator[MlflowServer]:
    """``mlflow server`` with its SQLite store and artifacts under ``base``; stopped afterwards."""
    port = free_port()
    log = open(base / "server.log", "wb")  # noqa: SIM115 (closed in finally)
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "mlflow",
            "server",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--workers",
            "1",
            "--backend-store-uri",
            f"sqlite:///{base / 'server.db'}",
            "--default-artifact-root",
            str(base / "artifacts"),
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
        cwd=base,
        start_new_session=True,
    )
    try:
        server = MlflowServer(f"http://127.0.0.1:{port}", proc)
        wait_http(f"{server.uri}/health", proc)
        yield server
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)  # the server and the workers it started
        proc.wait(timeout=60)
        log.close()
