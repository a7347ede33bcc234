"""``logger=tensorboard``: event files in ``<run dir>/tensorboard``.

A sweep's trials are sibling run directories, so ``tensorboard --logdir SWEEP_DIR`` shows one
run per trial; each writes the hparams plugin's records, so the HPARAMS tab compares the
trials side by side. Inside a sweep the records carry only what the sweep searched (its
``sweep.json`` search space), the trial number and status, and the objective's best value and
the test metrics: not the dozens of settings every trial shares. A run outside a sweep keeps
all its params.
"""

from __future__ import annotations

import math
import struct
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from torch.utils.tensorboard import (
    SummaryWriter,
)  # ImportError without tensorboard: see open_loggers
from torch.utils.tensorboard.summary import hparams

from hpt.loggers import RunInfo
from hpt.rundir import RESULT, SWEEP, read_json

SUBDIR = "tensorboard"


def _hparam(value: Any) -> int | float | str | bool:
    # The hparams plugin takes numbers, strings and booleans; show anything else as text.
    return value if isinstance(value, int | float | str | bool) else str(value)


def _is_searched(name: str, searched: set[str]) -> bool:
    # a group choice is searched as ``optimizer`` and lands in params as ``optimizer.name``
    group, _, leaf = name.rpartition(".")
    return name in searched or (leaf in ("name", "_target_") and group in searched)


class TensorBoardLogger:
    def __init__(self, info: RunInfo, flush_secs: int = 30) -> None:
        # purge_step: a resumed run drops any events written after its last checkpoint
        purge = info.start_epoch + 1 if info.start_epoch else None
        self.writer = SummaryWriter(
            str(info.run_dir / SUBDIR), flush_secs=flush_secs, purge_step=purge
        )
        self.run_dir = info.run_dir
        sweep = read_json(info.run_dir.parent / SWEEP) if info.trial is not None else None
        space = (sweep or {}).get("search_space")
        searched = set(space) if isinstance(space, dict) and space else None
        self.params = {
            k: _hparam(v)
            for k, v in info.params.items()
            if searched is None or _is_searched(k, searched)
        }
        objectives = (sweep or {}).get("objectives")
        self.objectives = [str(o) for o in objectives] if isinstance(objectives, list) else []
        if info.trial is not None:
            self.params["trial"] = int(info.trial["number"])
        self.step = info.start_epoch

    def log_metrics(self, metrics: Mapping[str, float], step: int) -> None:
        # add_scalar only queues the event: a background thread writes the file
        for key, value in metrics.items():
            if key != "epoch":
                self.writer.add_scalar(key, value, step)
        self.step = step

    def log_image(self, tag: str, png: Path, step: int) -> None:
        from tensorboard.compat.proto.summary_pb2 import Summary

        data = png.read_bytes()
        width, height = struct.unpack(">II", data[16:24])  # the PNG header's IHDR chunk
        image = Summary.Image(height=height, width=width, colorspace=3, encoded_image_string=data)
        self.writer._get_file_writer().add_summary(
            Summary(value=[Summary.Value(tag=tag, image=image)]), step
        )

    def _compared(self, metrics: Mapping[str, float]) -> dict[str, float]:
        """The metrics HPARAMS compares: the objectives' best values and the test metrics."""
        objectives = self.objectives
        if not objectives:  # a run outside a sweep: its own objective, from its result.json
            result = read_json(self.run_dir / RESULT) or {}
            named = [o.get("name") for o in result.get("objectives") or [] if isinstance(o, dict)]
            objectives = [str(n) for n in named if n]
        if not objectives:
            return dict(metrics)
        wanted = {f"best/{o}" for o in objectives}
        return {k: v for k, v in metrics.items() if k in wanted or k.startswith("test/")}

    def finish(self, status: str, summary: Mapping[str, float]) -> None:
        metrics = {k: v for k, v in summary.items() if math.isfinite(v)}
        compared = self._compared(metrics)
        experiment, start, end = hparams({**self.params, "status": status}, compared)
        for record in (experiment, start, end):
            self.writer._get_file_writer().add_summary(record)
        for key, value in metrics.items():  # the plugin reads each metric's value from its scalar
            self.writer.add_scalar(key, value, self.step)
        self.writer.close()
