"""Where a study lives: an embedded journal file in the sweep directory, or a shared database.

The journal file (Optuna's ``JournalFileBackend``) is the default because several worker
processes append to it under a file lock without the "database is locked" errors SQLite
gives under concurrent writers. ``postgresql://`` / ``mysql://`` / ``sqlite:///`` URLs go
through Optuna's ``RDBStorage`` so many hosts can share one study.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hpt.masking import mask_url

if TYPE_CHECKING:
    from optuna.storages import BaseStorage

JOURNAL_NAME = "study.journal"
_URL = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*://")


def is_url(spec: str) -> bool:
    """Whether ``spec`` starts with a URL scheme (``scheme://``), not a file path."""
    return bool(_URL.match(spec))


# SQLAlchemy URLs Optuna's RDB storage takes, and grpc://HOST:PORT (hpt storage-proxy)
SCHEMES = ("sqlite", "postgresql", "postgres", "mysql", "grpc")


def resolve_spec(spec: str | None, sweep_dir: Path) -> str:
    """Where the study lives, from ``hydra.sweeper.storage``.

    Args:
        spec: A URL, a journal file path (relative: to the sweep dir), or None/"" for the
            journal file inside the sweep dir.
        sweep_dir: The sweep's directory.

    Returns:
        The URL, or the journal file's path.

    Raises:
        UserError: A URL that names no database Optuna can store a study in.
    """
    from hpt.errors import UserError

    if not spec:
        return str(sweep_dir / JOURNAL_NAME)
    if is_url(spec):
        scheme = spec.split("://", 1)[0].split("+", 1)[0].lower()
        if scheme not in SCHEMES:
            raise UserError(
                f"hydra.sweeper.storage={mask_url(spec)}: unknown scheme {scheme!r}; use a journal "
                "file path, sqlite:///PATH, postgresql://..., mysql://... or grpc://HOST:PORT"
            )
        if scheme == "grpc" and not spec.rstrip("/").rpartition(":")[2].isdigit():
            raise UserError(f"hydra.sweeper.storage={spec}: write it as grpc://HOST:PORT")
        return spec
    path = Path(spec).expanduser()
    return str(path if path.is_absolute() else sweep_dir / path)


# A bare scheme means SQLAlchemy's default driver (psycopg 3 for PostgreSQL since
# SQLAlchemy 2.1, mysqlclient for MySQL); hpt's extras install psycopg2 and PyMySQL.
_DRIVERS = {
    "postgresql": ("psycopg", "psycopg2"),
    "postgres": ("psycopg", "psycopg2"),
    "mysql": ("MySQLdb", "pymysql"),
}


def with_installed_driver(url: str) -> str:
    """``postgresql://`` -> ``postgresql+psycopg2://`` when only psycopg2 is installed.

    Likewise ``mysql://`` -> ``mysql+pymysql://`` when only PyMySQL is.
    """
    import importlib.util

    scheme, sep, rest = url.partition("://")
    if scheme not in _DRIVERS:
        return url  # sqlite, or a driver named explicitly (postgresql+psycopg2://)
    default, ours = _DRIVERS[scheme]
    if importlib.util.find_spec(default) is None and importlib.util.find_spec(ours) is not None:
        return f"{'postgresql' if scheme == 'postgres' else scheme}+{ours}{sep}{rest}"
    return url


def open_storage(spec: str) -> BaseStorage:
    """An Optuna storage for a URL or a journal file path (created when missing).

    Stale trials are hpt's own business for every storage (``hpt.sweep.running.accounting``), not
    RDB heartbeats.

    Args:
        spec: What ``resolve_spec`` returned.

    Returns:
        The storage.

    Raises:
        UserError: The database's driver is missing, or the database cannot be opened.
    """
    from optuna.storages import JournalStorage, RDBStorage
    from optuna.storages.journal import JournalFileBackend, JournalFileOpenLock

    if spec.startswith("grpc://"):  # Optuna's storage proxy (hpt storage-proxy) before a database
        from optuna.storages import GrpcStorageProxy

        host, _, port = spec[len("grpc://") :].rstrip("/").rpartition(":")
        return GrpcStorageProxy(host=host or "localhost", port=int(port))
    if is_url(spec):
        from sqlalchemy.exc import OperationalError

        from hpt.errors import UserError

        engine_kwargs = {"pool_pre_ping": True} if not spec.startswith("sqlite") else {}
        url = with_installed_driver(spec)
        try:
            return _with_schema_retry(lambda: RDBStorage(url, engine_kwargs=engine_kwargs))
        except ImportError as exc:  # the URL's database driver is not installed
            raise UserError(
                f"storage {mask_url(spec)} needs its database driver ({exc}): "
                "pip install 'hpt[postgres]' (from a checkout: '.[postgres]') (or 'hpt[mysql]')"
            ) from None
        except OperationalError as exc:  # unreachable server, bad password, missing database
            first = str(exc.orig if exc.orig is not None else exc).strip().splitlines()[0]
            raise UserError(
                f"cannot open the study storage {mask_url(spec)}: {mask_url(first)}"
            ) from None
    Path(spec).parent.mkdir(parents=True, exist_ok=True)
    # The open(2)-based lock works on local and network filesystems alike (no symlinks needed).
    return JournalStorage(JournalFileBackend(spec, lock_obj=JournalFileOpenLock(spec)))


def _with_schema_retry(make: Callable[[], BaseStorage], attempts: int = 6) -> BaseStorage:
    """Workers on several hosts starting together on an empty database all create Optuna's
    tables; the losers of that race get "already exists" errors. The schema is there once
    the winner commits, so try again."""
    import random
    import time

    from sqlalchemy.exc import DatabaseError, IntegrityError

    for attempt in range(attempts):
        try:
            return make()
        except DatabaseError as exc:
            racing = isinstance(exc, IntegrityError) or "already exists" in str(exc).lower()
            if not racing or attempt == attempts - 1:
                raise
            time.sleep(0.2 * (attempt + 1) + random.random() * 0.3)
    raise AssertionError("unreachable")


def check_journal(path: Path, sweep_dir: Path) -> str | None:
    """Make an existing journal file safe to resume, or refuse it (``UserError``).

    A crash mid-append leaves a last record without its newline (or half a JSON object);
    Optuna skips it on read, but the next append would glue a new record to it and corrupt
    the file for good. So the torn tail is cut off, under the journal's own lock, and the
    warning returned. Any other undecodable record, or a file that is not an Optuna journal
    at all, is refused: hpt never appends to a file it does not understand. An empty journal
    beside existing trial directories is refused too: resuming it would re-run the budget.

    Args:
        path: The journal file (it may not exist yet).
        sweep_dir: The sweep's directory, where its trial directories are.

    Returns:
        The warning when a torn last record was cut off, else None.

    Raises:
        UserError: The file is not an Optuna journal, is corrupt, or lost its record.
    """
    from optuna.storages.journal import JournalFileOpenLock

    from hpt.errors import UserError
    from hpt.sweep.planning.naming import free_sibling

    if not path.exists():
        return None
    if path.is_dir():
        raise UserError(f"storage {path} is a directory, not an Optuna journal file")
    lock = JournalFileOpenLock(str(path))
    lock.acquire()
    try:
        data = path.read_bytes()
        if not data.strip():
            if any(sweep_dir.glob("trial_*")) or any(sweep_dir.glob("*/result.json")):
                raise UserError(
                    f"storage {path} is empty but {sweep_dir} already has trial directories: "
                    "the study's record is lost; start a new sweep with "
                    f"hydra.sweep.dir={free_sibling(sweep_dir)}"
                )
            return None
        good, tail = _readable_prefix(path, data)
        if not tail:
            return None
        if good == 0:
            raise UserError(_not_a_journal(path))
        with open(path, "r+b") as f:
            f.truncate(good)
            f.flush()
            os.fsync(f.fileno())
        return (
            f"hpt sweep: {path}: skipped a torn last record ({len(tail)} bytes) "
            "left by a crash mid-write"
        )
    finally:
        lock.release()


def _not_a_journal(path: Path) -> str:
    return f"storage {path} exists and is not an Optuna journal file; hpt will not write to it"


def _readable_prefix(path: Path, data: bytes) -> tuple[int, bytes]:
    """The bytes of the journal's whole, valid records, and a torn last record (or b"").

    Raises ``UserError`` for anything else that Optuna could not replay.
    """
    import json

    from hpt.errors import UserError

    lines = data.split(b"\n")
    tail = lines.pop()  # b"" when the file ends with a newline
    good = 0
    for i, line in enumerate(lines):
        try:
            record = json.loads(line)
        except ValueError:
            record = None
        if isinstance(record, dict) and "op_code" in record:
            problem = _record_problem(record)
            if problem:  # Optuna would fail on it mid-replay with a KeyError
                raise UserError(f"storage {path} is corrupt at record {i + 1}: {problem}")
        if not isinstance(record, dict) or "op_code" not in record:
            last = i == len(lines) - 1 and not tail
            if i == 0 and not last:
                raise UserError(_not_a_journal(path))
            if not last:
                raise UserError(
                    f"storage {path} is corrupt at record {i + 1}: not a journal record"
                )
            tail = line + b"\n"  # a half-written last record that happens to end a line
            break
        good += len(line) + 1
    return good, tail


# The fields Optuna's journal replay reads from each operation (optuna.storages.journal):
# 0 create study, 1 delete study, 2-3 study attrs, 4 create trial, 5-9 trial updates.
_NEEDS = {
    0: ("study_name", "directions"),
    1: ("study_id",),
    2: ("study_id",),
    3: ("study_id",),
    4: ("study_id",),
}


def _record_problem(record: dict[str, Any]) -> str | None:
    op = record.get("op_code")
    if isinstance(op, bool) or not isinstance(op, int) or not 0 <= op <= 9:
        return f"unknown op_code {op!r}"
    for field in _NEEDS.get(op, ("trial_id",)):
        if field not in record:
            return f"operation {op} without its {field!r}"
    if op == 0 and not (
        isinstance(record["study_name"], str) and isinstance(record["directions"], list)
    ):
        return "a study without a name or directions"
    return None


def mask_config(cfg: Any) -> None:
    """Hide storage passwords in a sweep's (or a trial's) config before Hydra writes it.

    ``.hydra/hydra.yaml`` records the sweeper's settings and the command's hydra overrides,
    where ``hydra.sweeper.storage=postgresql://user:PASSWORD@host/db`` is the natural way to
    give it. The sweeper keeps the real URL in memory (its own settings) and never writes it.

    Args:
        cfg: The config, changed in place (nothing happens without a ``hydra`` node).
    """
    from omegaconf import open_dict, read_write

    hydra = cfg.get("hydra") if hasattr(cfg, "get") else None
    if hydra is None:
        return
    with read_write(hydra), open_dict(hydra):
        overrides = hydra.get("overrides")
        if overrides is not None:
            for key in ("hydra", "task"):
                if overrides.get(key) is not None:
                    overrides[key] = [mask_url(str(o)) for o in overrides[key]]
        sweeper = hydra.get("sweeper")
        if sweeper is not None and isinstance(sweeper.get("storage"), str):
            sweeper.storage = mask_url(sweeper.storage)
