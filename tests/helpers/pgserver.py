"""A throw-away PostgreSQL server for the tests: ``initdb`` + ``pg_ctl`` in a temp dir.

Import the ``pg_server`` fixture into a test module (``from helpers.pgserver import pg_server``)
to register it. The server listens on a free loopback port and a unix socket inside its
own directory, so it never touches a system cluster. Authentication is ``trust`` for the
bootstrap superuser and ``scram-sha-256`` for the role the tests connect as, so the storage
URLs the tests hand to ``hpt sweep`` carry a real password (which hpt must mask).

``initdb`` refuses to run as root; as root the cluster is created and run as the
``postgres`` system user (``runuser``), which owns the temp dir.
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

ADMIN = "hpt_admin"  # bootstrap superuser, trust auth
ROLE = "hpt_tester"  # the role hpt connects as, password auth
PASSWORD = "s3cret-Pa55word"  # distinctive, so a leak is easy to grep for


def find_bin_dir() -> Path | None:
    """The directory holding ``initdb`` and ``pg_ctl``: PATH first, then Debian's layout."""
    found = shutil.which("initdb")
    if found and (Path(found).parent / "pg_ctl").exists():
        return Path(found).parent
    for d in sorted(
        glob.glob("/usr/lib/postgresql/*/bin"),
        key=lambda p: [int(x) for x in p.split("/")[-2].split(".") if x.isdigit()],
        reverse=True,
    ):
        if (Path(d) / "initdb").exists() and (Path(d) / "pg_ctl").exists():
            return Path(d)
    return None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class PgServer:
    host: str
    port: int
    socket_dir: Path
    data_dir: Path

    def admin_connect(self, dbname: str = "postgres"):  # type: ignore[no-untyped-def]
        import psycopg2

        conn = psycopg2.connect(host=self.host, port=self.port, user=ADMIN, dbname=dbname)
        conn.autocommit = True
        return conn

    def url(self, dbname: str, *, password: bool = True) -> str:
        auth = f"{ROLE}:{PASSWORD}" if password else ROLE
        return (
            f"postgresql://{auth}@{self.host}:{self.port}/{dbname}"  # the bare scheme users write
        )

    def new_database(self) -> str:
        """A fresh database owned by the password role; returns its storage URL (with password)."""
        name = f"hpt_{uuid.uuid4().hex[:10]}"
        conn = self.admin_connect()
        try:
            with conn.cursor() as cur:
                cur.execute(f'CREATE DATABASE "{name}" OWNER {ROLE}')
        finally:
            conn.close()
        return self.url(name)


class _Runner:
    """Runs the server binaries as the current user, or as ``postgres`` when we are root."""

    def __init__(self, bin_dir: Path) -> None:
        self.bin_dir = bin_dir
        self.user: str | None = None
        if os.geteuid() == 0:
            for name in ("postgres", "nobody"):
                with contextlib.suppress(KeyError):
                    pwd.getpwnam(name)
                    self.user = name
                    break

    def __call__(self, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
        cmd = [str(self.bin_dir / args[0]), *args[1:]]
        if self.user is not None:
            runuser = shutil.which("runuser")
            cmd = (
                [runuser, "-u", self.user, "--", *cmd]
                if runuser
                else ["su", self.user, "-s", "/bin/sh", "-c", " ".join(map(_quote, cmd))]
            )
        return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, cwd="/")

    def own(self, path: Path) -> None:
        if self.user is not None:
            pw = pwd.getpwnam(self.user)
            os.chown(path, pw.pw_uid, pw.pw_gid)


def _quote(s: str) -> str:
    import shlex

    return shlex.quote(s)


@contextlib.contextmanager
def running_server(durable: bool = False) -> Iterator[PgServer]:
    """Start a fresh cluster; stop it and delete its files on exit. Skips when impossible.

    The tests run it without fsync (fast, nothing to keep); ``durable=True`` keeps PostgreSQL's
    own defaults (fsync, synchronous commit), as ``benchmarks/storage_scale.py`` measures it.
    """
    bin_dir = find_bin_dir()
    if bin_dir is None:
        pytest.skip(
            "no PostgreSQL server binaries (initdb/pg_ctl) on PATH or in /usr/lib/postgresql/*/bin"
        )
    pytest.importorskip(
        "psycopg2", reason="psycopg2 is not installed (pip install 'hpt[postgres]')"
    )
    run = _Runner(bin_dir)
    if os.geteuid() == 0 and run.user is None:
        pytest.skip("running as root and no unprivileged user to run PostgreSQL as")
    base = Path(tempfile.mkdtemp(prefix="hpt-pg-"))
    run.own(base)
    data, sock = base / "data", base / "sock"
    sock.mkdir()
    run.own(sock)
    try:
        init = run(
            "initdb", "-D", str(data), "-U", ADMIN, "--auth=trust", "-E", "UTF8", "--no-sync"
        )
        if init.returncode != 0:
            pytest.skip(f"initdb failed: {init.stderr.strip().splitlines()[-1:]}")
        (data / "pg_hba.conf").write_text(
            "local all all trust\n"
            f"host all {ROLE} 127.0.0.1/32 scram-sha-256\n"
            "host all all 127.0.0.1/32 trust\n"
        )
        port = 0
        for _ in range(5):
            port = _free_port()
            opts = f"-p {port} -k {sock} -c listen_addresses=127.0.0.1 -c max_connections=200"
            if not durable:
                opts += " -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
            started = run(
                "pg_ctl",
                "-D",
                str(data),
                "-l",
                str(base / "server.log"),
                "-o",
                opts,
                "-w",
                "-t",
                "30",
                "start",
            )
            if started.returncode == 0:
                break
        else:
            log = (
                (base / "server.log").read_text(errors="replace")[-500:]
                if (base / "server.log").exists()
                else ""
            )
            pytest.skip(f"pg_ctl start failed: {started.stderr.strip()[-300:]} {log}")
        server = PgServer("127.0.0.1", port, sock, data)
        conn = server.admin_connect()
        try:
            with conn.cursor() as cur:
                cur.execute("SET password_encryption = 'scram-sha-256'")
                cur.execute(f"CREATE ROLE {ROLE} LOGIN PASSWORD %s", (PASSWORD,))
        finally:
            conn.close()
        try:
            yield server
        finally:
            run("pg_ctl", "-D", str(data), "-m", "immediate", "-w", "stop")
    finally:
        shutil.rmtree(base, ignore_errors=True)


@pytest.fixture(scope="session")
def pg_server() -> Iterator[PgServer]:
    """A PostgreSQL server for this test session (skips the test when none can be started)."""
    started = time.monotonic()
    with running_server() as server:
        server.startup_s = time.monotonic() - started  # type: ignore[attr-defined]
        yield server
