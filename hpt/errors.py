"""User-facing errors: one readable line and exit code 2, never a traceback."""

from __future__ import annotations

EXIT_USAGE = 2
EXIT_INTERRUPTED = 130


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
)


def one_line(exc: BaseException) -> str:
    """Collapse an exception and its causes into one line, keeping the informative parts."""
    parts: list[str] = []
    seen: set[BaseException] = set()
    current: BaseException | None = exc
    while current is not None and current not in seen:
        seen.add(current)
        for raw in str(current).splitlines():
            line = raw.strip()
            if not line or any(line.startswith(n) or n in line for n in _NOISE):
                continue
            if not any(line in p for p in parts):
                parts.append(line)
        current = current.__cause__ or current.__context__
    text = " ".join(p if p.endswith((".", ":", "?")) else p + "." for p in parts)
    return text or type(exc).__name__
