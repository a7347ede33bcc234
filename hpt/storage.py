"""Where a study lives: an embedded journal file in the sweep directory, or a shared database.

The journal file (Optuna's ``JournalFileBackend``) is the default because several worker
processes append to it under a file lock without the "database is locked" errors SQLite
gives under concurrent writers. ``postgresql://`` / ``mysql://`` / ``sqlite:///`` URLs go
through Optuna's ``RDBStorage`` so many hosts can share one study.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from optuna.storages import BaseStorage

JOURNAL_NAME = "study.journal"
_URL = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*://")
_PASSWORD = re.compile(r"(?P<head>[a-zA-Z][a-zA-Z0-9+.-]*://[^:/@\s]*:)(?P<pw>[^@\s]*)(?P<tail>@)")


def mask_url(text: str) -> str:
    """Hide the password of any ``scheme://user:password@host`` inside ``text``."""
    return _PASSWORD.sub(lambda m: f"{m['head']}***{m['tail']}", text)


def is_url(spec: str) -> bool:
    return bool(_URL.match(spec))


def resolve_spec(spec: str | None, sweep_dir: Path) -> str:
    """``None``/``""`` -> the journal file inside the sweep dir; a relative path is sweep-relative."""
    if not spec:
        return str(sweep_dir / JOURNAL_NAME)
    if is_url(spec):
        return spec
    path = Path(spec).expanduser()
    return str(path if path.is_absolute() else sweep_dir / path)


def open_storage(
    spec: str, *, heartbeat_interval: int | None = None, grace_period: int | None = None
) -> BaseStorage:
    """An Optuna storage for a URL or a journal file path (created when missing)."""
    import optuna
    from optuna.storages import JournalStorage, RDBStorage
    from optuna.storages.journal import JournalFileBackend, JournalFileOpenLock

    if is_url(spec):
        kwargs: dict[str, Any] = {}
        if heartbeat_interval:
            kwargs.update(
                heartbeat_interval=heartbeat_interval,
                grace_period=grace_period,
                failed_trial_callback=optuna.storages.RetryFailedTrialCallback(max_retry=1),
            )
        engine_kwargs = {"pool_pre_ping": True} if not spec.startswith("sqlite") else {}
        return RDBStorage(spec, engine_kwargs=engine_kwargs, **kwargs)
    Path(spec).parent.mkdir(parents=True, exist_ok=True)
    # The open(2)-based lock works on local and network filesystems alike (no symlinks needed).
    return JournalStorage(JournalFileBackend(spec, lock_obj=JournalFileOpenLock(spec)))
