"""The run-directory contract: the only thing `summarize` and the sweeper read back.

Every run (``hpt train`` or one sweep trial) owns one directory holding:

- ``.hydra/``          Hydra's ``config.yaml``, ``overrides.yaml`` and ``hydra.yaml``
- ``metrics.jsonl``    one JSON object per epoch: ``epoch``, ``train/loss``, ``val/loss``,
                       the task metric (``val/acc`` or ``val/mse`` ...), ``lr``,
                       ``time/epoch_s``, ``throughput/samples_per_s``
- ``result.json``      written as ``RUNNING`` at start, rewritten at the end with
                       ``status`` (COMPLETE | PRUNED | FAIL | RUNNING), ``objective``
                       ({name, value, direction}), ``objectives`` (list, several for
                       multi-objective sweeps), ``best`` and ``final`` metrics, ``test``
                       metrics, ``epochs``, ``duration_s``, ``error`` (text or null),
                       ``error_kind`` (nan | oom | exception | timeout | interrupted | null),
                       ``params`` (flattened hyperparameters), ``model`` ({n_params}),
                       ``trial`` ({number, study_name} or null)
- ``manifest.json``    seed, git commit/dirty, versions, device, precision, host, start time
- ``checkpoints/best.pt``  a ``state_dict`` (loaded only with ``weights_only=True``)
- ``checkpoints/last.pt``  the whole training state after the last epoch (``hpt.training.resume``)

Optional: ``cv`` (trainer.folds), ``repeats`` (trainer.repeats) and ``compress`` blocks in
result.json, ``checkpoints/compressed.pt``, ``samples/*.png`` (task=gan|vae).

A sweep directory holds ``sweep.json``, ``search.yaml``, the study storage
(``study.journal`` by default) and one run directory per Optuna trial: ``trial_NNNN`` for
``hpt sweep``, a user app's ``hydra.sweep.subdir`` (Hydra's ``N`` by default) otherwise.

This module is imported by ``summarize``: it must not import torch, optuna or pandas.
"""

from __future__ import annotations

import json
import math
import os
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

RESULT = "result.json"
METRICS = "metrics.jsonl"
MANIFEST = "manifest.json"
HYDRA_DIR = ".hydra"
CHECKPOINT = "checkpoints/best.pt"
SWEEP = "sweep.json"
TEST = "test.json"  # a sweep's handed-over trial: its one test (hpt.sweep.testing)

STATUSES = ("COMPLETE", "PRUNED", "FAIL", "RUNNING")


def _clean(value: Any) -> Any:
    """JSON has no NaN/inf: write them as strings so every reader can parse the file."""
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if isinstance(value, Mapping):
        return {str(k): _clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clean(v) for v in value]
    return value


def atomic_write_bytes(path: str | os.PathLike[str], data: bytes) -> None:
    """Write-then-rename, so a crash never leaves a half-written file behind."""
    path = Path(path)
    if path.exists() and not path.is_file() and not path.is_dir():
        # /dev/null, a FIFO: write into it; renaming over it would replace the device (as root)
        with open(path, "wb") as f:
            f.write(data)
        return
    # Its own folder only (checkpoints/, samples/): a run dir that vanished mid-run is an
    # error naming the file, never silently made again for the rest of the run to fill.
    # A caller that owns a deeper tree (a cache) makes it first.
    path.parent.mkdir(exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.chmod(tmp, 0o644)  # mkstemp makes 0600; results are meant to be shared and read
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except OSError as exc:
        Path(tmp).unlink(missing_ok=True)
        if exc.filename in (None, tmp):  # name the file being written, not none or the temp file
            raise OSError(exc.errno, exc.strerror, str(path)) from exc
        raise
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def atomic_write_text(path: str | os.PathLike[str], text: str) -> None:
    """Write ``text`` to ``path`` atomically (see ``atomic_write_bytes``)."""
    atomic_write_bytes(path, text.encode("utf-8"))


def atomic_write_json(path: str | os.PathLike[str], data: Mapping[str, Any]) -> None:
    """Write ``data`` as indented JSON to ``path`` atomically; non-finite floats as strings."""
    atomic_write_text(path, json.dumps(_clean(data), indent=2, sort_keys=False, default=str) + "\n")


def append_jsonl(path: str | os.PathLike[str], record: Mapping[str, Any]) -> None:
    """One line per write with O_APPEND: a crash loses at most the line being written."""
    line = json.dumps(_clean(record), default=str) + "\n"
    try:
        with open(path, "a", encoding="utf-8") as f:
            f.write(line)
            f.flush()
    except OSError as exc:
        if exc.filename is None:  # write() on a full disk names no file: name it
            raise OSError(exc.errno, exc.strerror, str(path)) from exc
        raise


MAX_JSON_BYTES = 64 << 20  # a result.json is kilobytes: anything this big is not one


def file_problem(path: str | os.PathLike[str], limit: int | None = MAX_JSON_BYTES) -> str | None:
    """Why ``path`` is not a file to read whole (a FIFO would hang the reader, a link to
    ``/dev/zero`` never end): ``not a regular file`` or ``larger than N MB``; None when it is
    one, or is missing (the reader then says so)."""
    import stat

    try:
        info = os.stat(path)
    except OSError:
        return None
    if not stat.S_ISREG(info.st_mode):
        return "not a regular file"
    if limit is not None and info.st_size > limit:
        return f"larger than {limit >> 20} MB"
    return None


def read_json(path: str | os.PathLike[str]) -> dict[str, Any] | None:
    """The parsed object, or None when the file is missing, unreadable, not UTF-8, not an
    object, or not a regular file of at most ``MAX_JSON_BYTES`` (``file_problem``)."""
    if file_problem(path):
        return None
    try:
        with open(path, "rb") as f:
            data = json.loads(f.read())  # bytes: json detects UTF-8/16/32 itself
    except (OSError, ValueError, RecursionError):  # UnicodeDecodeError is a ValueError
        return None
    return data if isinstance(data, dict) else None


def read_jsonl(path: str | os.PathLike[str]) -> list[dict[str, Any]]:
    """Every complete line that is a JSON object; a torn or non-UTF-8 line is skipped."""
    rows: list[dict[str, Any]] = []
    if file_problem(path, limit=None):  # a FIFO: never opened (it would wait for a writer)
        return rows
    try:
        with open(path, "rb") as f:  # bytes: one bad byte spoils its line, not the file
            for line in f:
                try:
                    obj = json.loads(line)
                except (ValueError, RecursionError):
                    continue
                if isinstance(obj, dict):
                    rows.append(obj)
    except OSError:
        pass
    return rows


def read_text(path: str | os.PathLike[str]) -> str | None:
    """A small text file (``.hydra/*.yaml``), or None when missing, unreadable, not UTF-8 or
    not a regular file of at most ``MAX_JSON_BYTES``."""
    if file_problem(path):
        return None
    try:
        return Path(path).read_text(encoding="utf-8")
    except (OSError, ValueError):
        return None


def flatten(config: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """``{"optimizer": {"lr": 0.1}}`` -> ``{"optimizer.lr": 0.1}``; lists stay values."""
    out: dict[str, Any] = {}
    for key, value in config.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            out.update(flatten(value, name + "."))
        else:
            out[name] = value
    return out


def is_run_dir(path: Path) -> bool:
    """Whether ``path`` is a run directory (it holds ``result.json`` or ``manifest.json``)."""
    return (path / RESULT).is_file() or (path / MANIFEST).is_file()


def run_of(path: str | os.PathLike[str]) -> Path:
    """The run directory ``path`` stands for: itself, or for a sweep dir (it holds
    ``sweep.json``) its refit model ``best/``, else the trial the sweep chose.

    Args:
        path: A run directory or a sweep directory.

    Returns:
        The run directory to use; ``path`` itself when it is no sweep dir (or chose nothing:
        the caller then says what is missing).
    """
    where = Path(path)
    if not (where / SWEEP).is_file():
        return where
    if (where / "best" / RESULT).is_file():
        return where / "best"
    best = (read_json(where / SWEEP) or {}).get("best") or []
    chosen = best[0].get("dir") if best and isinstance(best[0], dict) else None
    return where / str(chosen) if chosen else where


def _close_file_logs(folder: Path) -> None:
    """Close and detach the logging handlers writing into ``folder`` (Hydra's job log): a
    handler left pointing at a removed folder fails the process's next log line."""
    import logging

    named = logging.Logger.manager.loggerDict.values()
    loggers = [logging.getLogger(), *(x for x in named if isinstance(x, logging.Logger))]
    for logger in loggers:
        for handler in list(logger.handlers):
            name = getattr(handler, "baseFilename", None)
            if name and Path(name).resolve().is_relative_to(folder.resolve()):
                logger.removeHandler(handler)
                handler.close()


def discard_refused(run_dir: Path) -> bool:
    """Remove the folder of a run refused before it trained (bad data, a model that cannot
    be built): it holds only Hydra's config and a FAIL result.json, and a refused ``hpt
    train`` leaves no run dir. Empty parents it leaves (``outputs/runs``) go too.

    Args:
        run_dir: The run's folder, made by this run (``hpt.config.check`` refuses an existing one).

    Returns:
        Whether it was removed: not when anything else is in it (metrics, checkpoints, ...).
    """
    import shutil

    known = {HYDRA_DIR, RESULT, "train.log", "hpt.log"}
    if not run_dir.is_dir() or any(p.name not in known for p in run_dir.iterdir()):
        return False
    _close_file_logs(run_dir)
    shutil.rmtree(run_dir, ignore_errors=True)
    parent, here = run_dir.parent, Path.cwd()
    while parent != here and parent.is_relative_to(here) and not any(parent.iterdir()):
        parent.rmdir()
        parent = parent.parent
    return True
