"""``logger=csv``: ``<run dir>/metrics.csv``, one row per epoch, for spreadsheets and pandas.

metrics.jsonl holds the same rows; the CSV is for tools that want a table. The file is
rewritten atomically each epoch (a few KB), so a killed run never leaves a torn row.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from hpt.loggers import RunInfo
from hpt.rundir import atomic_write_text

FILE = "metrics.csv"


class CsvLogger:
    def __init__(self, info: RunInfo) -> None:
        self.path = info.run_dir / FILE
        self.rows: list[dict[str, Any]] = []
        if info.start_epoch and self.path.is_file():  # resumed: keep the epochs already done
            with open(self.path, newline="", encoding="utf-8") as f:
                self.rows = [r for r in csv.DictReader(f) if int(r["epoch"]) <= info.start_epoch]

    def log_metrics(self, metrics: Mapping[str, float], step: int) -> None:
        self.rows.append({"epoch": step, **{k: v for k, v in metrics.items() if k != "epoch"}})
        columns = list(dict.fromkeys(k for row in self.rows for k in row))
        buf = io.StringIO()
        writer = csv.DictWriter(buf, fieldnames=columns, lineterminator="\n")
        writer.writeheader()
        writer.writerows(self.rows)
        atomic_write_text(self.path, buf.getvalue())

    def log_image(self, tag: str, png: Path, step: int) -> None:
        pass  # the grids are already files in the run directory

    def finish(self, status: str, summary: Mapping[str, float]) -> None:
        pass  # status and final metrics are in result.json
