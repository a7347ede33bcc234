"""Machine-readable outputs (CSV, JSON, Parquet) and atomic writing of any output."""

from __future__ import annotations

import io
import json
import math
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hpt.rundir import atomic_write_bytes

if TYPE_CHECKING:
    import pandas as pd

FORMATS = ("table", "csv", "json", "markdown", "parquet")
_SUFFIXES = {
    ".csv": "csv",
    ".json": "json",
    ".md": "markdown",
    ".parquet": "parquet",
    ".txt": "table",
}


class ExportError(ValueError):
    """An output that cannot be produced as asked (reported as exit code 2)."""


def format_for(path: str | None) -> str | None:
    """The format implied by an output file's suffix (``runs.csv`` -> ``csv``), if any.

    Args:
        path: The ``--output`` file (None or empty: none given).

    Returns:
        ``csv``, ``json``, ``markdown``, ``parquet`` or ``table``; None for another suffix.
    """
    if not path:
        return None
    return _SUFFIXES.get(Path(path).suffix.lower())


def normalize(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy every writer accepts: columns holding mixed Python types become text.

    Parquet needs one type per column; doing the same for CSV/JSON keeps the three
    formats round-tripping to the same table.

    Args:
        frame: The runs.

    Returns:
        A new frame with a fresh index; missing values stay missing.
    """
    out = frame.copy()
    for column in out.columns:
        if out[column].dtype != object:
            continue
        kinds = {type(v) for v in out[column].tolist() if v is not None and not _nan(v)}
        if len(kinds) > 1:
            out[column] = [None if v is None or _nan(v) else str(v) for v in out[column].tolist()]
    return out.reset_index(drop=True)


def _nan(value: Any) -> bool:
    return isinstance(value, float) and math.isnan(value)


def _plain(value: Any) -> Any:
    if hasattr(value, "item") and not isinstance(value, str | bytes):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None if math.isnan(value) else str(value)
    return value


def to_csv(frame: pd.DataFrame) -> str:
    """One row per run, every column, header first.

    Args:
        frame: The runs to export.

    Returns:
        The CSV text.
    """
    return str(normalize(frame).to_csv(index=False))


def to_json(frame: pd.DataFrame) -> str:
    """A JSON list with one object per run; missing values are ``null``, ±inf are strings.

    Args:
        frame: The runs to export.

    Returns:
        The JSON text (ending in a newline).
    """
    records = normalize(frame).to_dict(orient="records")
    rows = [{str(k): _plain(v) for k, v in record.items()} for record in records]
    return json.dumps(rows, indent=1, default=str) + "\n"


def to_parquet(frame: pd.DataFrame) -> bytes:
    """Parquet bytes (needs pyarrow).

    Args:
        frame: The runs to export.

    Returns:
        The Parquet file's content.

    Raises:
        ExportError: pyarrow is not installed.
    """
    try:
        import pyarrow  # noqa: F401
    except ImportError as exc:
        raise ExportError(
            "--format parquet needs pyarrow (pip install 'hpt[parquet]' "
            "(from a checkout: '.[parquet]'))"
        ) from exc
    buffer = io.BytesIO()
    normalize(frame).to_parquet(buffer, index=False)
    return buffer.getvalue()


def write_output(path: str | os.PathLike[str], data: str | bytes) -> None:
    """Write ``data`` to ``path`` atomically (temp file in the same folder, then rename).

    Args:
        path: The output file (its folder must exist).
        data: Text (written as UTF-8) or bytes.
    """
    atomic_write_bytes(path, data.encode("utf-8") if isinstance(data, str) else data)
