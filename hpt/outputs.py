"""Where a command's output may go: never over a run's or sweep's own records, nor its input.

``hpt predict -o``, ``hpt eval --json``, ``hpt export -o`` (and its sidecar) and
``hpt summarize -o/--html`` check their output paths here before any work. A record is a file
a run or sweep directory (a folder holding ``result.json``, ``sweep.json`` or ``.hydra/``)
owns: ``RECORDS`` by name, anything under ``RECORD_FOLDERS``, and a sweep's study storage.
Anything else in those folders (``report.html`` beside a sweep) stays writable.

Imported by ``summarize``: the standard library only.
"""

from __future__ import annotations

import json
from pathlib import Path

from hpt.errors import UserError
from hpt.rundir import HYDRA_DIR, MANIFEST, METRICS, RESULT, SWEEP

RECORDS = frozenset(
    {
        RESULT,
        METRICS,
        MANIFEST,
        SWEEP,
        "preprocessing.json",
        "search.yaml",
        "optimization_results.yaml",
        "metrics.csv",
        "mlflow.json",
        "mlflow_parent.json",
        "wandb.json",
        "lr_find.csv",
        "lr_find.json",
        "lr_find.png",
    }
)
RECORD_FOLDERS = frozenset({"checkpoints", HYDRA_DIR, "samples", "tensorboard", "wandb"})
STORAGE_SUFFIXES = (".journal", ".db", ".sqlite", ".sqlite3", ".lock")
EXPORT_MARK = "hpt export"  # the sidecar's "written_by": only such a file is rewritten


def refuse_record(path: str | Path, flag: str, inputs: tuple[str | Path, ...] = ()) -> None:
    """Refuse an output path that would replace a record or one of the command's inputs.

    Args:
        path: The output file, as given.
        flag: The option that named it (``-o``), for the message.
        inputs: The command's own input files (a table to predict, summarize's paths).

    Raises:
        UserError: One line naming the file and whose it is.
    """
    _check_destination(path, flag)
    target = _real(path)
    for source in inputs:
        if str(source) != "-" and _real(source) == target:
            raise UserError(f"{flag} {path} is this command's own input: write elsewhere")
    for folder in target.parents:
        if not _is_run_or_sweep(folder):
            continue
        parts = target.relative_to(folder).parts
        own = parts[0] in RECORD_FOLDERS or (
            len(parts) == 1
            and (parts[0] in RECORDS or (parts[0].endswith(STORAGE_SUFFIXES) and target.exists()))
        )
        if own:
            raise UserError(
                f"{flag} {path} would overwrite {'/'.join(parts)}, a record of {folder}: "
                "hpt never writes over a run's or sweep's own files; write elsewhere"
            )


def refuse_foreign_sidecar(path: Path, flag: str) -> None:
    """Refuse to replace a JSON file that ``hpt export`` did not write (its sidecar's name)."""
    if not path.exists() and not path.is_symlink():
        return
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError, UnicodeDecodeError):
        data = None
    ours = isinstance(data, dict) and (
        data.get("written_by") == EXPORT_MARK
        or {"file", "format", "inputs", "outputs"} <= set(data)
    )
    if not ours:
        raise UserError(
            f"{flag}: its sidecar {path} exists and is not one hpt export wrote: "
            "move it or name the model file otherwise"
        )


def _check_destination(path: str | Path, flag: str) -> None:
    """A file name whose folder is a folder (or can be made): not a directory itself, not
    under a file."""
    p = Path(path).expanduser()
    if p.is_dir():
        raise UserError(f"{flag} {path} is a directory: give a file name")
    for parent in p.absolute().parents:
        if parent.exists():
            if not parent.is_dir():
                raise UserError(f"cannot write {flag} {path}: {parent} is not a folder")
            return


def _real(path: str | Path) -> Path:
    """The file a path writes to: links followed, relative parts resolved."""
    p = Path(path).expanduser().absolute()
    if p.exists() or p.is_symlink():
        return p.resolve()
    return p.parent.resolve() / p.name


def _is_run_or_sweep(folder: Path) -> bool:
    try:
        return (
            (folder / RESULT).is_file()
            or (folder / SWEEP).is_file()
            or (folder / HYDRA_DIR).is_dir()
        )
    except OSError:  # an unreadable folder on the way up: not one hpt can tell
        return False
