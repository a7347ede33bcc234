"""User-facing errors: one readable line and exit code 2, never a traceback."""

from __future__ import annotations

import signal
import sys
import threading
from typing import Any

from hpt.masking import mask_url

EXIT_USAGE = 2
EXIT_INTERRUPTED = 130
EXIT_TERMINATED = 143  # 128 + SIGTERM, what a shell reports for a process SIGTERM ended


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised like Ctrl-C so a run in progress is recorded as interrupted."""


class JobEnded(KeyboardInterrupt):
    """A cluster worker job told to stop (scancel, preemption, its time limit): its trial is
    released for another worker, recorded as the worker's death, not the user's interrupt."""


def sigterm_as_interrupt() -> Any:
    """Make SIGTERM raise ``Terminated`` (a KeyboardInterrupt), so a run or sweep in progress
    stops the way Ctrl-C stops it; returns the handler to restore, or None where the handler
    is someone else's (a sweep worker, an embedding program, a non-main thread)."""
    if threading.current_thread() is not threading.main_thread():
        return None
    if signal.getsignal(signal.SIGTERM) is not signal.SIG_DFL:
        return None

    def terminated(signum: int, frame: Any) -> None:
        raise Terminated()

    return signal.signal(signal.SIGTERM, terminated)


def mark_reported(exc: BaseException) -> BaseException:
    """Note that the user has been told about ``exc`` (an interrupt the sweep explained)."""
    exc.hpt_reported = True  # type: ignore[attr-defined]
    return exc


def was_reported(exc: BaseException) -> bool:
    """Whether :func:`mark_reported` was called on ``exc``: the command adds no line."""
    return bool(getattr(exc, "hpt_reported", False))


class UserError(Exception):
    """Bad input the user can fix (a typo, a missing dataset, an impossible setting)."""


class DataNotFoundError(UserError):
    pass


class DamagedFileError(UserError):
    """A file hpt wrote (a checkpoint) that can no longer be read as written: never used."""


_NOISE = (
    "Set the environment variable HYDRA_FULL_ERROR=1",
    "full_key:",
    "object_type=",
    "reference_type=",
    "See https://hydra.cc",
    "Config search path:",
    "$VALUE",  # OmegaConf's unformatted message templates, repeated in the cause chain
    "$KEY",
)


def _lines(text: str) -> list[str]:
    """The informative lines of one message; an indented list under ``header:`` joins its header."""
    lines: list[str] = []
    listing = skipping = False
    for raw in text.splitlines():
        line = raw.strip()
        if not line:
            continue
        indented = raw[:1].isspace()
        if indented and skipping:
            continue
        skipping = any(n in line for n in _NOISE)
        if skipping:
            continue
        if indented and lines and (listing or lines[-1].endswith(":")):
            lines[-1] += (", " if listing else " ") + line
            listing = True
        else:
            lines.append(line)
            listing = False
    return lines


def one_line(exc: BaseException) -> str:
    """Collapse an exception and its causes into one line, keeping the informative parts, with
    any password in a URL masked (``user:***@host``)."""
    parts: list[str] = []
    seen: set[BaseException] = set()
    current: BaseException | None = exc
    while current is not None and current not in seen:
        seen.add(current)
        earlier = list(parts)  # a cause often repeats its wrapper's text: drop what is already said
        for line in _lines(str(current)):
            if line in ("None", "None.") or line in parts or any(line in p for p in earlier):
                continue  # antlr and some libraries raise with a message of None
            parts.append(line)
        # `raise ... from None` means the context is noise: respect it.
        current = current.__cause__ or (
            None if current.__suppress_context__ else current.__context__
        )
    text = " ".join(p if p.endswith((".", ":", "?")) else p + "." for p in parts)
    return mask_url(text) or type(exc).__name__  # a URL's password never reaches a message


class TrialTimeoutError(Exception):
    """A sweep trial ran past ``hydra.sweeper.trial_timeout``."""


class SweepAbortedError(Exception):
    """The sweep stopped itself (too many failures): exit code 1, not a usage error."""


def error_kind(exc: BaseException) -> str:
    """The ``error_kind`` of a failed run or trial, by exception type (one place for
    ``hpt train`` and the sweeper): interrupted, timeout, config, nan, oom or exception."""
    if isinstance(exc, KeyboardInterrupt):
        return "interrupted"
    if isinstance(exc, TrialTimeoutError):
        return "timeout"
    if isinstance(exc, UserError):
        return "config"
    if isinstance(exc, FloatingPointError):  # a user app's numpy/torch overflow checks raise it
        return "nan"
    if isinstance(exc, MemoryError) or _is_cuda_oom(exc):
        return "oom"
    return "exception"


def _is_cuda_oom(exc: BaseException) -> bool:
    torch = sys.modules.get("torch")  # never import torch just to classify an error
    oom = getattr(torch, "OutOfMemoryError", None) if torch is not None else None
    if oom is not None and isinstance(exc, oom):
        return True
    # Older CUDA paths (and some extensions) raise a plain RuntimeError for out-of-memory.
    return isinstance(exc, RuntimeError) and "out of memory" in str(exc).lower()


def environment_failure(exc: BaseException | None) -> OSError | None:
    """The "no space left", quota or read-only file system error in ``exc`` or its causes:
    one that fails every trial after it the same way, so a sweep stops on it (None if not)."""
    import errno

    seen: set[int] = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        if isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT, errno.EROFS):
            return exc
        exc = exc.__cause__ or exc.__context__
    return None
