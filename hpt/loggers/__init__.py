"""Experiment trackers: ``logger=none|tensorboard|mlflow|csv`` or a list, ``logger=[tensorboard,csv]``.

Every selected logger gets the same calls: the flattened hyperparameters when it opens, one
``log_metrics`` per epoch (every metrics.jsonl field, the learning rate among them), sample
grids as images (task=gan|vae), and ``finish`` with the run's status and final metrics.
The tracking libraries are optional extras, imported only by the logger that needs them.
"""

from __future__ import annotations

import importlib
import logging
import math
import os
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from hpt.errors import UserError, one_line
from hpt.result import read_result, update_result

log = logging.getLogger("hpt.loggers")

# name -> (module, class, pip extra): the module is imported only when the logger is selected
LOGGERS = {
    "tensorboard": ("hpt.loggers.tensorboard_logger", "TensorBoardLogger", "tensorboard"),
    "mlflow": ("hpt.loggers.mlflow_logger", "MlflowLogger", "mlflow"),
    "csv": ("hpt.loggers.csv_logger", "CsvLogger", None),
    "wandb": ("hpt.loggers.wandb_logger", "WandbLogger", "wandb"),
}


@dataclass
class RunInfo:
    """What a logger knows about the run it records."""

    run_dir: Path
    params: dict[str, Any]  # the flattened hyperparameters (result.json's ``params``)
    trial: dict[str, Any] | None = None  # {"number", "study_name"} inside a sweep, else None
    cwd: Path = Path(".")  # where the user started hpt (the default MLflow store lives under it)
    start_epoch: int = 0  # > 0 when the run resumes after this many epochs

    @property
    def name(self) -> str:
        return self.run_dir.name


class Logger(Protocol):
    def log_metrics(self, metrics: Mapping[str, float], step: int) -> None: ...

    def log_image(self, tag: str, png: Path, step: int) -> None: ...

    def finish(self, status: str, summary: Mapping[str, float]) -> None: ...


class Loggers:
    """The selected loggers as one; with none selected every call is a no-op.

    A tracker is a witness, not a part of the run: one that fails (its server went away, its
    disk is full) is one warning, kept in ``warnings`` (``track`` records them in result.json),
    and is dropped, while training goes on and the run's outcome stays its own.
    """

    def __init__(self, loggers: list[Logger], names: list[str] | None = None) -> None:
        self.loggers = loggers
        self.names = names if names is not None else [type(lg).__name__ for lg in loggers]
        self.warnings: list[str] = []

    def _each(self, call: Callable[[Logger], None]) -> None:
        kept = []
        for name, lg in zip(self.names, self.loggers):
            try:
                call(lg)
                kept.append((name, lg))
            except Exception as exc:  # the tracker stops; the run goes on
                text = f"logger={name} failed and was stopped, the run goes on: {type(exc).__name__}: {one_line(exc)}"
                self.warnings.append(text[:500])
                log.warning("hpt: warning: %s", text[:500])
        self.names, self.loggers = [n for n, _ in kept], [lg for _, lg in kept]

    def log_metrics(self, metrics: Mapping[str, float], step: int) -> None:
        self._each(lambda lg: lg.log_metrics(metrics, step))

    def log_image(self, tag: str, png: Path, step: int) -> None:
        self._each(lambda lg: lg.log_image(tag, png, step))

    def finish(self, status: str, summary: Mapping[str, float]) -> None:
        self._each(lambda lg: lg.finish(status, summary))
        self.loggers, self.names = [], []  # finish once, even if called again on a failure


def selection_of(node: Any) -> dict[str, Any]:
    """The composed ``logger`` config node as a plain ``{name: options}``."""
    from omegaconf import OmegaConf

    return dict(OmegaConf.to_container(node, resolve=True)) if node else {}  # type: ignore[arg-type]


def run_info(
    run_dir: Path, params: dict[str, Any], cwd: str | None, start_epoch: int = 0
) -> RunInfo:
    """The RunInfo of the run in ``run_dir`` (its sweep trial, if any, from ``hpt.reporter``)."""
    from hpt import reporter

    return RunInfo(run_dir, params, reporter.current_trial(), Path(cwd or os.getcwd()), start_epoch)


def missing(name: str, extra: str | None, exc: ImportError) -> UserError:
    package = extra or name
    return UserError(
        f"logger={name} needs the {package} package ({exc.name or package} is not installed): "
        f"pip install 'hpt[{package}]' (from a checkout: '.[{package}]')"
    )


def open_loggers(selection: Mapping[str, Any] | None, info: RunInfo) -> Loggers:
    """Open every logger named in ``selection`` (``{name: options}``, the ``logger`` config node)."""
    opened: list[Logger] = []
    names: list[str] = []
    if selection:
        info.run_dir.mkdir(parents=True, exist_ok=True)
    for name, options in (selection or {}).items():
        if name not in LOGGERS:
            raise UserError(f"logger={name} is unknown: choose from none, {', '.join(LOGGERS)}")
        module_name, cls_name, extra = LOGGERS[name]
        try:
            module = importlib.import_module(module_name)
            opened.append(getattr(module, cls_name)(info, **dict(options or {})))
            names.append(name)
        except ImportError as exc:
            Loggers(opened).finish("FAIL", {})
            raise missing(name, extra, exc) from None
        except TypeError as exc:  # an option the logger does not take: a user's typo
            Loggers(opened).finish("FAIL", {})
            raise UserError(f"logger.{name}: {exc}") from None
    return Loggers(opened, names)


@contextmanager
def track(selection: Mapping[str, Any] | None, info: RunInfo) -> Iterator[Loggers]:
    """The selected loggers for the duration of a run; at its end each gets the run's status and
    final metrics, read from the ``result.json`` the run wrote (FAIL if it raised)."""
    loggers = open_loggers(selection, info)
    try:
        yield loggers
    except BaseException:
        loggers.finish("FAIL", {})
        raise
    result = read_result(info.run_dir) or {}
    best, test = result.get("best"), result.get("test")
    loggers.finish(
        str(result.get("status", "FAIL")),
        summary_metrics(
            best if isinstance(best, dict) else None, test if isinstance(test, dict) else None
        ),
    )
    if loggers.warnings and result:  # the run's record says which tracker lost what
        update_result(info.run_dir, warnings=loggers.warnings)


def final_metrics(run_dir: Path) -> dict[str, float]:
    """A finished run's ``best/*`` and ``test/*`` metrics (finite only), from its result.json."""
    result = read_result(run_dir) or {}
    best, test = result.get("best"), result.get("test")
    summary = summary_metrics(
        best if isinstance(best, dict) else None, test if isinstance(test, dict) else None
    )
    return {k: v for k, v in summary.items() if math.isfinite(v)}


def summary_metrics(
    best: Mapping[str, float] | None, test: Mapping[str, float] | None
) -> dict[str, float]:
    """The per-run metrics a tracker compares runs by: ``best/<metric>`` and ``test/<metric>``."""
    out = {f"best/{k}": float(v) for k, v in (best or {}).items() if k != "epoch" and _number(v)}
    if best and "epoch" in best:
        out["best/epoch"] = float(best["epoch"])
    out.update({k: float(v) for k, v in (test or {}).items() if _number(v)})
    return out


def _number(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool)


__all__ = [
    "LOGGERS",
    "Logger",
    "Loggers",
    "RunInfo",
    "final_metrics",
    "open_loggers",
    "summary_metrics",
    "track",
]
