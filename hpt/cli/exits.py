"""hpt's error contract: what a command raised becomes one line on stderr and an exit code.

2 for the user's input (a setting out of range, an unknown key, a bad file), 1 for a failed
run or an error of the files a run writes (a full disk names the file), 130 or 143 when
interrupted; anything else is an internal error with its one line. ``hpt.cli.launch`` runs
Hydra and hands what it raised to :func:`exit_code`.
"""

from __future__ import annotations

import errno
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hpt.cli.argv import did_you_mean
from hpt.errors import (
    EXIT_INTERRUPTED,
    EXIT_TERMINATED,
    EXIT_USAGE,
    SweepAbortedError,
    Terminated,
    UserError,
    one_line,
    was_reported,
)

# Errors of the file system a run writes to (as opposed to a network error, also an OSError).
_FILE_ERRNOS = {
    errno.ENOSPC,
    errno.EDQUOT,
    errno.EROFS,
    errno.EACCES,
    errno.EPERM,
    errno.ENOENT,
    errno.ENOTDIR,
    errno.EISDIR,
    errno.EIO,
    errno.EFBIG,
    errno.ENAMETOOLONG,
    errno.EEXIST,
}


@dataclass
class Job:
    """One job of a run or multirun, as ``hpt train`` reports it."""

    overrides: list[str]
    run_dir: str
    value: Any = None  # what the task function returned
    error: Exception | None = None


def close_record(run_dir: Path, error: str) -> None:
    """Mark a run that ended on an I/O error after training FAIL in its ``result.json``.

    A run that failed writing best.pt, say, must not stay RUNNING; the record is left as it
    is when it is not this process's running run, or when it cannot be written either.

    Args:
        run_dir: The run's directory.
        error: The error to record.
    """
    from hpt.result import close_running

    # An OSError (the disk is still full) is not raised: the line on stderr is all.
    close_running(
        run_dir, {"status": "FAIL", "error": error, "error_kind": "exception"}, pid=os.getpid()
    )


def user_error_types() -> tuple[type[BaseException], ...]:
    """The errors that are the user's input (exit 2): hpt's own, Hydra's and OmegaConf's."""
    from hydra.errors import HydraException
    from omegaconf.errors import OmegaConfBaseException

    return (UserError, HydraException, OmegaConfBaseException)


def exit_code(
    exc: BaseException, prog: str, *, user_full_error: bool, jobs: list[Job] | None
) -> int | None:
    """Report what a run raised on one line, and the exit code it gets.

    Args:
        exc: What :func:`launch` raised.
        prog: The command's name in messages (``hpt train``).
        user_full_error: Whether the user set HYDRA_FULL_ERROR=1 (the traceback, not a line).
        jobs: ``hpt train``'s jobs: a file error names the last one's run dir.

    Returns:
        The exit code, or None when ``exc`` goes on up as it is: a broken pipe (``hpt.cli.commands``
        ends quietly), a ``BaseException`` hpt does not handle, or a user who asked for the
        traceback.

    Raises:
        BaseException: The setting's error a ``Rejected`` carries, for HYDRA_FULL_ERROR=1.
    """
    from hpt.config.check import Rejected

    if isinstance(exc, Rejected):  # a setting out of its range (hpt.config.check.Validate)
        if user_full_error:
            raise exc.args[0] from None
        print(f"{prog}: error: {one_line(exc.args[0])}", file=sys.stderr)
        return EXIT_USAGE
    if isinstance(exc, KeyboardInterrupt):
        terminated = isinstance(exc, Terminated)
        if not was_reported(exc):  # a sweep has said so, and how to resume
            print(f"{prog}: {'terminated' if terminated else 'interrupted'}", file=sys.stderr)
        return EXIT_TERMINATED if terminated else EXIT_INTERRUPTED
    if isinstance(exc, BrokenPipeError) or not isinstance(exc, Exception):
        return None  # `hpt train --cfg job | head`: the reader left; hpt.cli.commands ends quietly
    if isinstance(exc, SweepAbortedError):
        print(f"{prog}: {exc}", file=sys.stderr)
        return 1
    if user_full_error:
        return None
    if isinstance(exc, user_error_types()):
        print(f"{prog}: error: {did_you_mean(exc) or one_line(exc)}", file=sys.stderr)
        return EXIT_USAGE
    if isinstance(exc, OSError) and exc.errno in _FILE_ERRNOS:
        return _cannot_write(exc, prog, jobs)
    print(
        f"{prog}: internal error: {type(exc).__name__}: {one_line(exc)} "
        "(set HYDRA_FULL_ERROR=1 for the traceback)",
        file=sys.stderr,
    )
    return 1


def _cannot_write(exc: OSError, prog: str, jobs: list[Job] | None) -> int:
    """A full disk, a read-only or vanished folder: the files' problem, not an hpt bug."""
    where = exc.filename or (jobs[-1].run_dir if jobs else "the run directory")
    print(f"{prog}: error: cannot write {where}: {exc.strerror or exc}", file=sys.stderr)
    if jobs:
        close_record(Path(jobs[-1].run_dir), f"cannot write {where}: {exc.strerror}")
    return 1
