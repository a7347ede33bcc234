"""``logger=tensorboard``: event files in ``<run dir>/tensorboard``.

A sweep's trials are sibling run directories, so ``tensorboard --logdir SWEEP_DIR`` shows one
run per trial; each writes the hparams plugin's records (its params, status and final
metrics), so the HPARAMS tab compares the trials side by side.
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

SUBDIR = "tensorboard"


def _hparam(value: Any) -> int | float | str | bool:
    # The hparams plugin takes numbers, strings and booleans; show anything else as text.
    return value if isinstance(value, int | float | str | bool) else str(value)


class TensorBoardLogger:
    def __init__(self, info: RunInfo, flush_secs: int = 30) -> None:
        # purge_step: a resumed run drops any events written after its last checkpoint
        purge = info.start_epoch + 1 if info.start_epoch else None
        self.writer = SummaryWriter(
            str(info.run_dir / SUBDIR), flush_secs=flush_secs, purge_step=purge
        )
        self.params = {k: _hparam(v) for k, v in info.params.items()}
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

    def finish(self, status: str, summary: Mapping[str, float]) -> None:
        metrics = {k: v for k, v in summary.items() if math.isfinite(v)}
        experiment, start, end = hparams({**self.params, "status": status}, metrics)
        for record in (experiment, start, end):
            self.writer._get_file_writer().add_summary(record)
        for key, value in metrics.items():  # the plugin reads each metric's value from its scalar
            self.writer.add_scalar(key, value, self.step)
        self.writer.close()
