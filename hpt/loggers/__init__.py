"""Experiment trackers: ``logger=none|tensorboard|mlflow|csv|wandb``, or a list of them:
``logger=[tensorboard,csv]``.

Each ``conf/logger/<name>.yaml`` names its class by ``_target_`` (a user's own tracker is
``+logger.mine._target_=mypkg.MyLogger``, or a ``logger/mine.yaml`` of their own), which is
called with the run's ``RunInfo`` and the node's other options.

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
import re
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from hpt.config.ranges import is_number
from hpt.errors import UserError, one_line
from hpt.result import read_result, update_result

log = logging.getLogger("hpt.loggers")


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
        """The run's name: its directory's (``trial_0003`` in a sweep)."""
        return self.run_dir.name


class Logger(Protocol):
    """What a logger class offers; it is called as ``cls(info: RunInfo, **options)``."""

    def log_metrics(self, metrics: Mapping[str, float], step: int) -> None:
        """Record one epoch's metrics (every metrics.jsonl field) at ``step`` (the epoch)."""

    def log_image(self, tag: str, png: Path, step: int) -> None:
        """Record an image (a GAN/VAE sample grid) at ``step``."""

    def finish(self, status: str, summary: Mapping[str, float]) -> None:
        """End the run's record with its status and final ``best/*`` and ``test/*`` metrics."""


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
                why = f"{type(exc).__name__}: {one_line(exc)}"
                text = f"logger={name} failed and was stopped, the run goes on: {why}"
                self.warnings.append(text[:500])
                log.warning("hpt: warning: %s", text[:500])
        self.names, self.loggers = [n for n, _ in kept], [lg for _, lg in kept]

    def log_metrics(self, metrics: Mapping[str, float], step: int) -> None:
        """Each logger's ``log_metrics``."""
        self._each(lambda lg: lg.log_metrics(metrics, step))

    def log_image(self, tag: str, png: Path, step: int) -> None:
        """Each logger's ``log_image``."""
        self._each(lambda lg: lg.log_image(tag, png, step))

    def finish(self, status: str, summary: Mapping[str, float]) -> None:
        """Each logger's ``finish``, once."""
        self._each(lambda lg: lg.finish(status, summary))
        self.loggers, self.names = [], []  # finish once, even if called again on a failure


def selection_of(node: Any) -> dict[str, Any]:
    """The composed ``logger`` config node as a plain ``{name: options}``."""
    from omegaconf import OmegaConf

    plain = OmegaConf.to_container(node, resolve=True) if node else {}
    return dict(plain)  # type: ignore[arg-type]


def run_info(
    run_dir: Path, params: dict[str, Any], cwd: str | None, start_epoch: int = 0
) -> RunInfo:
    """The RunInfo of the run in ``run_dir`` (its sweep trial, if any, from
    ``hpt.training.reporter``)."""
    from hpt.training import reporter

    return RunInfo(run_dir, params, reporter.current_trial(), Path(cwd or os.getcwd()), start_epoch)


def missing(name: str, target: str, exc: ImportError) -> UserError:
    """The error of a logger whose tracking library is not installed: what to install.

    Args:
        name: The logger's name in the ``logger`` config node.
        target: Its class (``_target_``).
        exc: The failed import.

    Returns:
        hpt's extra for hpt's own loggers (``pip install 'hpt[mlflow]'``), else the package.
    """
    own = re.fullmatch(r"hpt\.loggers\.(\w+)_logger\.\w+", target)
    if own:  # hpt's own logger modules are named after the extra they need
        extra = own.group(1)
        return UserError(
            f"logger={name} needs the {extra} package ({exc.name or extra} is not installed): "
            f"pip install 'hpt[{extra}]' (from a checkout: '.[{extra}]')"
        )
    package = (exc.name or name).split(".")[0]
    return UserError(
        f"logger={name} needs the {package} package ({exc.name or package} is not installed): "
        f"pip install {package}"
    )


def target_of(name: str, options: Mapping[str, Any]) -> str:
    """The logger's class: its ``_target_``, else the one ``conf/logger/<name>.yaml`` names.

    The second is for a selection written without ``_target_`` (``open_loggers({"csv": {}})``,
    a config saved before loggers had one): the name is still a ``conf/logger`` option.

    Args:
        name: The logger's name in the ``logger`` config node.
        options: Its options.

    Returns:
        The dotted path of the class.

    Raises:
        UserError: Neither names a class.
    """
    target = options.get("_target_")
    if target:
        return str(target)
    from importlib.resources import files

    from omegaconf import DictConfig, OmegaConf

    group = files("hpt.conf") / "logger"
    path = group / f"{name}.yaml"
    conf = OmegaConf.load(str(path)) if path.is_file() else None
    node = conf.get(name) if isinstance(conf, DictConfig) else None
    if isinstance(node, DictConfig) and node.get("_target_"):
        return str(node["_target_"])
    known = sorted(
        p.name.removesuffix(".yaml") for p in group.iterdir() if p.name.endswith(".yaml")
    )
    raise UserError(
        f"logger={name} is unknown: choose from {', '.join(known)}, "
        f"or name your own class with logger.{name}._target_"
    )


def open_logger(name: str, options: Mapping[str, Any], info: RunInfo) -> Logger:
    """One logger: its ``_target_`` class instantiated with the RunInfo and its options.

    Args:
        name: The logger's name in the ``logger`` config node (``tensorboard``, a user's own).
        options: Its options, ``_target_`` among them (see ``target_of``).
        info: The run it records.

    Returns:
        The opened logger.

    Raises:
        UserError: Its library is not installed, its class cannot be imported, or it does not
            take one of the options (a typo).
    """
    from hydra.errors import InstantiationException
    from hydra.utils import instantiate

    from hpt.targets import locate

    target = target_of(name, options)
    try:  # only now is the logger's module, and the tracking library it needs, imported
        _import_module_of(target)
    except ImportError as exc:
        raise missing(name, target, exc) from None
    locate(target, f"logger.{name}._target_")  # one readable line when the class is not there
    try:
        logger: Logger = instantiate({**options, "_target_": target}, info, _convert_="all")
    except InstantiationException as exc:
        cause = exc.__cause__
        if isinstance(cause, TypeError):  # an option the logger does not take: a user's typo
            raise UserError(f"logger.{name}: {cause}") from None
        if isinstance(cause, ImportError):  # a library the logger imports when it opens
            raise missing(name, target, cause) from None
        if cause is None:
            raise UserError(f"logger.{name}: {one_line(exc)}") from None
        raise cause from None  # the logger's own error (a UserError saying why, say), as raised
    return logger


def _import_module_of(target: str) -> None:
    """Import the module ``target`` lives in, through ``sys.modules`` as ``import`` does.

    Hydra's own lookup would take a module attribute left on its package instead, and wraps
    the ImportError of a missing library; this one lets it through, to be named.
    """
    parts = target.split(".")
    for end in range(len(parts) - 1, 0, -1):
        module = ".".join(parts[:end])
        try:
            importlib.import_module(module)
            return
        except ModuleNotFoundError as exc:
            if not exc.name or not (module == exc.name or module.startswith(exc.name + ".")):
                raise  # the module is there; a library it imports is not
            # (no module by this name: the target may be a class's attribute; try the parent)


def open_loggers(selection: Mapping[str, Any] | None, info: RunInfo) -> Loggers:
    """Open every logger in ``selection``: the ``logger`` config node, ``{name: options}``.

    Each is the class its ``_target_`` names (``conf/logger/*.yaml``, or a user's own),
    called with the RunInfo and the other options.

    Args:
        selection: The selected loggers and their options (None or empty: none).
        info: The run they record.

    Returns:
        The opened loggers as one.

    Raises:
        UserError: A logger cannot be opened (see ``open_logger``); those already opened are
            finished first.
    """
    opened: list[Logger] = []
    names: list[str] = []
    if selection:
        info.run_dir.mkdir(parents=True, exist_ok=True)
    for name, options in (selection or {}).items():
        try:
            opened.append(open_logger(name, dict(options or {}), info))
        except Exception:
            Loggers(opened).finish("FAIL", {})  # no tracker is left open for a run never run
            raise
        names.append(name)
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


def final_metrics(result: Mapping[str, Any]) -> dict[str, float]:
    """A finished run's ``best/*`` and ``test/*`` metrics (finite only), from its result.json."""
    best, test = result.get("best"), result.get("test")
    summary = summary_metrics(
        best if isinstance(best, dict) else None, test if isinstance(test, dict) else None
    )
    return {k: v for k, v in summary.items() if math.isfinite(v)}


def summary_metrics(
    best: Mapping[str, float] | None, test: Mapping[str, float] | None
) -> dict[str, float]:
    """The per-run metrics a tracker compares runs by: ``best/<metric>`` and ``test/<metric>``."""
    out = {f"best/{k}": float(v) for k, v in (best or {}).items() if k != "epoch" and is_number(v)}
    if best and "epoch" in best:
        out["best/epoch"] = float(best["epoch"])
    out.update({k: float(v) for k, v in (test or {}).items() if is_number(v)})
    return out


__all__ = [
    "Logger",
    "Loggers",
    "RunInfo",
    "final_metrics",
    "open_logger",
    "open_loggers",
    "summary_metrics",
    "track",
]
