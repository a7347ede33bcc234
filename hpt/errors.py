"""User-facing errors: one readable line and exit code 2, never a traceback."""

from __future__ import annotations

import sys

EXIT_USAGE = 2
EXIT_INTERRUPTED = 130
EXIT_TERMINATED = 143  # 128 + SIGTERM, what a shell reports for a process SIGTERM ended


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised like Ctrl-C so a run in progress is recorded as interrupted."""


class UserError(Exception):
    """Bad input the user can fix (a typo, a missing dataset, an impossible setting)."""


class DataNotFoundError(UserError):
    pass


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
    """Collapse an exception and its causes into one line, keeping the informative parts."""
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
    return text or type(exc).__name__


class TrialTimeoutError(Exception):
    """A sweep trial ran past ``hydra.sweeper.trial_timeout``."""


class SweepAbortedError(Exception):
    """The sweep stopped itself (too many failures): exit code 1, not a usage error."""


def error_kind(exc: BaseException) -> str:
    """How a run failed, for ``result.json``'s ``error_kind``: timeout, oom or exception.

    Reads torch from ``sys.modules`` only: an exception raised where torch was never imported
    cannot be a CUDA out-of-memory error, and this module stays free of heavy imports.
    """
    if isinstance(exc, TrialTimeoutError):
        return "timeout"
    torch = sys.modules.get("torch")
    if torch is not None and isinstance(exc, torch.OutOfMemoryError):
        return "oom"
    return "oom" if "out of memory" in str(exc).lower() else "exception"
