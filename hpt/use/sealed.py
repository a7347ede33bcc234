"""Sealed checkpoint files: torch.save's bytes and the sha256 of those bytes, in one file.

The checksum is a last line, ``hpt-sha256:<hex digest>``, written with the file in one atomic
rename, so the two never disagree (a sidecar file could be left behind by a kill between two
renames); torch.load reads a zip archive from its end record and ignores the line, so plain
``torch.load`` still opens the file. Used by ``hpt.record`` (best.pt, compressed.pt) and
``hpt.training.resume`` (last.pt).
"""

from __future__ import annotations

import hashlib
import io
from pathlib import Path
from typing import Any

import torch

from hpt.errors import DamagedFileError, UserError
from hpt.rundir import atomic_write_bytes

SEAL = b"\nhpt-sha256:"
SEAL_LEN = len(SEAL) + 64 + 1  # the marker, the hex digest, a newline


def sealed(data: bytes) -> bytes:
    """``data`` with its checksum line appended."""
    return data + SEAL + hashlib.sha256(data).hexdigest().encode() + b"\n"


def write_sealed(path: Path, obj: Any) -> None:
    """``torch.save(obj)``, sealed, written atomically (a kill mid-write keeps the old file)."""
    buf = io.BytesIO()
    torch.save(obj, buf)
    atomic_write_bytes(path, sealed(buf.getvalue()))


def read_sealed(path: Path) -> Any:
    """What ``write_sealed`` wrote, verified: a file that is cut short, overwritten, changed
    anywhere (its checksum differs) or holds more than tensors and plain containers
    (``weights_only=True``) raises ``DamagedFileError`` naming it; it is never used."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise UserError(f"cannot read {path}: {exc.strerror or exc}") from None
    data, seal = raw[:-SEAL_LEN], raw[-SEAL_LEN:]
    if not raw:
        raise DamagedFileError(f"{path} is damaged: it is empty")
    if not (seal.startswith(SEAL) and seal.endswith(b"\n")):
        raise DamagedFileError(
            f"{path} is damaged: it has no checksum line (cut short, overwritten, or not "
            "written by this version of hpt)"
        )
    if hashlib.sha256(data).hexdigest().encode() != seal[len(SEAL) : -1]:
        raise DamagedFileError(
            f"{path} is damaged: its contents do not match the checksum written with it"
        )
    verified = io.BytesIO(data)
    try:
        return torch.load(verified, map_location="cpu", weights_only=True)
    except Exception as exc:
        raise DamagedFileError(f"{path} is damaged: {_unreadable(exc)}") from None


def _unreadable(exc: BaseException) -> str:
    """Why torch could not read a checkpoint, in one line, without torch's advice to retry
    with ``weights_only=False`` (that would run whatever code the file holds)."""
    import pickle

    if isinstance(exc, EOFError):
        return "it is cut short"
    first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
    if isinstance(exc, pickle.UnpicklingError) or "weights_only" in first:
        return "it holds objects other than tensors and plain containers, which hpt never loads"
    if "central directory" in first or "zip archive" in first:
        return "it is not a complete checkpoint (cut short or overwritten)"
    return f"torch cannot read it ({type(exc).__name__}: {first[:200]})"


__all__ = ["SEAL", "read_sealed", "sealed", "write_sealed"]
