"""Progress of one run: a rich bar on a terminal, one plain line per epoch otherwise."""

from __future__ import annotations

import sys
from collections.abc import Mapping
from types import TracebackType
from typing import Any


def _fmt(metrics: Mapping[str, float], keys: tuple[str, ...]) -> str:
    parts = []
    for k in keys:
        if k in metrics:
            v = metrics[k]
            parts.append(f"{k} {v:,.0f}" if k.startswith("throughput") else f"{k} {v:.4g}")
    return "  ".join(parts)


class RunProgress:
    KEYS = ("train/loss", "val/loss", "val/acc", "val/mse", "lr", "throughput/samples_per_s")

    def __init__(self, epochs: int, steps_per_epoch: int, quiet: bool) -> None:
        self.epochs, self.steps = epochs, steps_per_epoch
        self.quiet = quiet
        self.live = not quiet and sys.stderr.isatty()
        self._progress: Any = None
        self._task: Any = None

    def __enter__(self) -> RunProgress:
        if self.live:
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                Progress,
                TextColumn,
                TimeRemainingColumn,
            )

            self._progress = Progress(
                TextColumn("epoch {task.fields[epoch]}/{task.fields[epochs]}"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeRemainingColumn(),
                TextColumn("{task.fields[info]}"),
                transient=False,
            )
            self._progress.start()
            self._task = self._progress.add_task(
                "train", total=self.steps, epoch=1, epochs=self.epochs, info=""
            )
        return self

    def step(self, step: int) -> None:
        """Move the bar to training step ``step`` of this epoch."""
        # Called every optimizer step; only touch the display every 10 steps to stay cheap.
        if self._progress is not None and (step % 10 == 0 or step == self.steps):
            self._progress.update(self._task, completed=step)  # type: ignore[arg-type]

    def epoch(self, metrics: Mapping[str, float]) -> None:
        """Show one finished epoch's metrics."""
        line = f"epoch {int(metrics['epoch'])}/{self.epochs}  " + _fmt(metrics, self.KEYS)
        if self._progress is not None:
            self._progress.console.print(line, highlight=False)
            nxt = min(int(metrics["epoch"]) + 1, self.epochs)
            self._progress.reset(
                self._task, total=self.steps, epoch=nxt, epochs=self.epochs, info=""
            )  # type: ignore[arg-type]
        elif not self.quiet:
            print(line, file=sys.stderr, flush=True)

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._progress is not None:
            self._progress.stop()
