"""``hpt dashboard SWEEP_DIR`` on a sweep whose study is in a real PostgreSQL database.

sweep.json keeps the URL with its password masked (``user:***@host``). The dashboard takes
the real URL from ``HPT_STORAGE``, or asks for the password at a terminal (a real pty here);
without either it is one line and exit 2, never a login as ``***``.
"""

from __future__ import annotations

import json
import os
import pty
import select
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from helpers import cli_env, pgserver
from helpers.pgserver import PASSWORD, PgServer

from hpt.masking import mask_url
from hpt.rundir import SWEEP

pytestmark = pytest.mark.postgres
pg_server = pgserver.pg_server  # registers the session fixture in this module


@pytest.fixture(scope="module")
def db_sweep(pg_server: PgServer, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """A sweep dir whose sweep.json names (masked) a database holding study ``s`` of 1 trial."""
    import optuna

    from hpt.storage import open_storage

    url = pg_server.new_database()
    study = optuna.create_study(study_name="s", storage=open_storage(url))
    study.add_trial(optuna.trial.create_trial(params={}, distributions={}, value=0.5))
    sweep = tmp_path_factory.mktemp("sweep")
    (sweep / SWEEP).write_text(json.dumps({"study_name": "s", "storage": mask_url(url)}))
    return sweep, url


def _served_studies(line: str) -> list[str]:
    assert line.startswith("optuna-dashboard: http://127.0.0.1:"), line
    url = line.split()[1].rstrip("/")
    with urllib.request.urlopen(f"{url}/api/studies", timeout=30) as r:
        return [s["study_name"] for s in json.loads(r.read())["study_summaries"]]


def test_the_real_url_comes_from_hpt_storage(db_sweep: tuple[Path, str]) -> None:
    sweep, url = db_sweep
    server = subprocess.Popen(
        [sys.executable, "-m", "hpt", "dashboard", str(sweep), "--port", "0"],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=cli_env(HPT_STORAGE=url),
        start_new_session=True,
    )
    try:
        assert _served_studies(server.stdout.readline() if server.stdout else "") == ["s"]
    finally:
        os.killpg(server.pid, signal.SIGINT)
        server.wait(timeout=30)


def test_without_it_and_no_terminal_it_is_one_line_exit_2_and_no_login(
    db_sweep: tuple[Path, str],
) -> None:
    sweep, url = db_sweep
    started = time.monotonic()
    ran = subprocess.run(
        [sys.executable, "-m", "hpt", "dashboard", str(sweep), "--port", "0"],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        env=cli_env(),
        timeout=60,
    )
    assert ran.returncode == 2, ran.stderr
    (line,) = ran.stderr.strip().splitlines()
    assert "HPT_STORAGE" in line and mask_url(url) in line and PASSWORD not in line
    assert time.monotonic() - started < 30


def _read_until(fd: int, text: bytes, seconds: float = 60) -> bytes:
    seen, deadline = b"", time.monotonic() + seconds
    while text not in seen and time.monotonic() < deadline:
        if select.select([fd], [], [], 1)[0]:
            try:
                seen += os.read(fd, 4096)
            except OSError:  # the child closed the terminal
                break
    return seen


def test_at_a_terminal_it_asks_for_the_password(db_sweep: tuple[Path, str]) -> None:
    import fcntl
    import termios

    sweep, _ = db_sweep
    main, child = pty.openpty()

    def own_terminal() -> None:  # the pty becomes the child's controlling terminal (/dev/tty)
        os.setsid()
        fcntl.ioctl(0, termios.TIOCSCTTY, 0)

    server = subprocess.Popen(
        [sys.executable, "-m", "hpt", "dashboard", str(sweep), "--port", "0"],
        stdin=child,
        stdout=child,
        stderr=child,
        env=cli_env(),
        preexec_fn=own_terminal,
    )
    os.close(child)
    try:
        assert b"password for " in _read_until(main, b"password for ")
        os.write(main, PASSWORD.encode() + b"\n")
        out = _read_until(main, b"(Ctrl-C to stop)").decode(errors="replace")
        line = next(x for x in out.splitlines() if x.startswith("optuna-dashboard:"))
        assert _served_studies(line.strip()) == ["s"]
        assert PASSWORD not in out  # not echoed
    finally:
        os.kill(server.pid, signal.SIGINT)
        server.wait(timeout=30)
        os.close(main)
