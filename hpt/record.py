"""A run's record in its run directory (see ``hpt.rundir``), the same for every kind of run.

Supervised (``hpt.train``) and generative (``hpt.generative``) runs both: open ``result.json``
as RUNNING, write the manifest, append one ``metrics.jsonl`` row per epoch, record a failure
with its reason instead of losing it, save the best weights, and close ``result.json`` with
the ``Outcome`` the CLI or the sweeper gets back.
"""

from __future__ import annotations

import os
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch

from hpt.errors import UserError, error_kind
from hpt.manifest import manifest
from hpt.objectives import Objective
from hpt.result import ObjectiveRecord, mark_running, objective_records, write_result
from hpt.rundir import MANIFEST, METRICS, append_jsonl, atomic_write_json
from hpt.training import reporter as reporting
from hpt.use.sealed import read_sealed, write_sealed

if TYPE_CHECKING:
    from hpt.training.loop_types import FitResult

# Derived from every run (model size and time), so a multi-objective sweep may name them.
DERIVED = ("model/n_params", "time/epoch_s", "time/train_s")


@dataclass
class Outcome:
    """What a run hands back to the CLI or the sweeper."""

    status: str
    values: list[float] | None
    run_dir: str
    objectives: list[Objective]
    error: str | None = None
    error_kind: str | None = None
    best: dict[str, float] = field(default_factory=dict)
    # what a FAIL raised, for the sweeper's stop rule (a full disk fails every trial alike)
    cause: BaseException | None = field(default=None, repr=False, compare=False)


class RunRecord:
    """One run directory being written: ``result.json`` RUNNING from the start, then its outcome."""

    def __init__(self, run_dir: Path, params: dict[str, Any]) -> None:
        self.run_dir, self.started = run_dir, time.time()
        self.base = mark_running(run_dir, params, reporting.current_trial())

    def manifest(self, *, seed: int, device: torch.device, precision: str, cwd: str | None) -> None:
        """Write ``manifest.json``: what the run ran on (versions, device, seed, git state)."""
        atomic_write_json(
            self.run_dir / MANIFEST,
            manifest(seed=seed, device=device, precision=precision, cwd=cwd or os.getcwd()),
        )

    def epoch(self, metrics: Mapping[str, float]) -> None:
        """Append one epoch's metrics to ``metrics.jsonl``."""
        append_jsonl(self.run_dir / METRICS, metrics)

    def finish(self, outcome: Outcome, fitted: FitResult | None, extra: dict[str, Any]) -> Outcome:
        """Write the final ``result.json`` of a run that trained, and return its outcome."""
        history = fitted.history if fitted else []
        objectives = _objective_records(outcome)
        write_result(
            self.run_dir,
            {
                **self.base,
                "status": outcome.status,
                "objective": objectives[0] if objectives else None,
                "objectives": objectives,
                "best": fitted.best if fitted and fitted.best else None,
                "final": history[-1] if history else None,
                "epochs": len(history),
                "duration_s": round(time.time() - self.started, 3),
                "error": outcome.error,
                "error_kind": outcome.error_kind,
                **extra,
            },
        )
        return outcome

    def build_failed(self, exc: Exception, objectives: list[Objective]) -> None:
        """The run could not be built: a bad setting is a ``config`` error, the rest as raised."""
        kind = "config" if isinstance(exc, UserError) else error_kind(exc)
        self.finish(Outcome("FAIL", None, str(self.run_dir), objectives, str(exc), kind), None, {})

    def fail(
        self,
        exc: BaseException,
        objectives: list[Objective],
        extra: dict[str, Any],
        stage: str = "",
    ) -> Outcome:
        """Write a FAIL ``result.json`` with the error's one line and kind."""
        return self.finish(failure(exc, self.run_dir, objectives, stage), None, extra)

    def guard(
        self, fit: Callable[[], FitResult], objectives: list[Objective], extra: dict[str, Any]
    ) -> FitResult | Outcome:
        """``fit()``, or the recorded FAIL outcome when it raises (Ctrl-C is recorded, then
        re-raised)."""
        try:
            return fit()
        except KeyboardInterrupt as exc:
            self.fail(exc, objectives, extra)
            raise
        except Exception as exc:  # a failing run is recorded, never lost
            return self.fail(exc, objectives, extra)


def failure(
    exc: BaseException, run_dir: Path, objectives: list[Objective], stage: str = ""
) -> Outcome:
    """The FAIL outcome of a run that raised: interrupted, out of memory, timeout or exception.

    ``stage``: the part of the run that raised (``compress``), prefixed to the message.
    """
    if isinstance(exc, KeyboardInterrupt):
        return Outcome(
            "FAIL", None, str(run_dir), objectives, "interrupted by the user", "interrupted"
        )
    if torch.cuda.is_available():
        torch.cuda.empty_cache()  # an OOM trial must not starve the next one on this GPU
    msg = f"{stage + ': ' if stage else ''}{type(exc).__name__}: {exc}".splitlines()[0][:500]
    return Outcome("FAIL", None, str(run_dir), objectives, msg, error_kind(exc), cause=exc)


def derived_values(history: Sequence[Mapping[str, float]], n_params: int) -> dict[str, float]:
    """What a sweep may constrain besides the metrics: ``model/n_params``, ``time/epoch_s``
    (mean) and ``time/train_s`` (total)."""
    times = [m["time/epoch_s"] for m in history]
    return {
        "model/n_params": float(n_params),
        "time/epoch_s": sum(times) / max(len(times), 1),
        "time/train_s": sum(times),
    }


def outcome_of(
    fitted: FitResult, objectives: list[Objective], derived: Mapping[str, float], run_dir: Path
) -> Outcome:
    """The run's outcome: each objective read from the best epoch's metrics or the derived
    values."""
    values = None
    if fitted.best is not None and fitted.status != "FAIL":
        known = {**derived, **fitted.best}
        values = [float(known.get(o.name, float("nan"))) for o in objectives]
    return Outcome(
        fitted.status,
        values,
        str(run_dir),
        objectives,
        fitted.error,
        fitted.error_kind,
        fitted.best or {},
    )


def _objective_records(outcome: Outcome) -> list[ObjectiveRecord]:
    return objective_records(
        [o.name for o in outcome.objectives],
        [o.direction for o in outcome.objectives],
        outcome.values,
    )


def save_checkpoint(path: Path, state: Mapping[str, Any]) -> None:
    """A plain state_dict of CPU tensors, sealed and written atomically (``write_sealed``).

    A quantized model's state also holds packed-parameter tuples (kept as they are) and the
    per-module versions in ``_metadata``, without which an INT8 Linear reads back as version 1.
    """
    metadata = getattr(state, "_metadata", None)
    cpu: dict[str, Any] = OrderedDict() if metadata is not None else {}
    for k, v in state.items():
        cpu[k] = v.detach().cpu() if isinstance(v, torch.Tensor) else v
    if metadata is not None:
        cpu._metadata = metadata  # type: ignore[attr-defined]
    write_sealed(path, cpu)


def load_checkpoint(path: str | os.PathLike[str]) -> dict[str, torch.Tensor]:
    """Tensors only, and only as written: see ``read_sealed``."""
    return read_sealed(Path(path))
