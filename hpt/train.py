"""One training run: build it, fit it, and write its run directory (see ``hpt.rundir``)."""

from __future__ import annotations

import logging
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from omegaconf import DictConfig

from hpt import compress as compressing
from hpt import reporter as reporting
from hpt.build import Objective, build, data_problem, resolve_objectives, run_params
from hpt.errors import TrialTimeoutError, UserError
from hpt.loop import FitResult, LoopSettings, evaluate, fit
from hpt.manifest import manifest
from hpt.progress import RunProgress
from hpt.repeats import fit_members, plan
from hpt.rundir import CHECKPOINT, MANIFEST, METRICS, RESULT, append_jsonl, atomic_write_json

log = logging.getLogger("hpt")
EXTRA_OBJECTIVES = ("model/n_params", "time/epoch_s", "time/train_s", *compressing.OBJECTIVES)


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


last_outcome: Outcome | None = None


def task(cfg: DictConfig) -> Outcome:
    """Hydra's task function for ``hpt train`` and for every sweep trial."""
    from hydra.core.hydra_config import HydraConfig

    global last_outcome
    hc = HydraConfig.get()
    run_dir = Path(hc.runtime.output_dir)
    last_outcome = run(cfg, run_dir, choices=dict(hc.runtime.choices), cwd=hc.runtime.cwd)
    return last_outcome


def failure(exc: BaseException, run_dir: Path, objectives: list[Objective]) -> Outcome:
    """The FAIL outcome of a run that raised: interrupted, out of memory, timeout or exception."""
    if isinstance(exc, KeyboardInterrupt):
        return Outcome(
            "FAIL", None, str(run_dir), objectives, "interrupted by the user", "interrupted"
        )
    if torch.cuda.is_available():
        torch.cuda.empty_cache()  # an OOM trial must not starve the next one on this GPU
    msg = f"{type(exc).__name__}: {exc}".splitlines()[0][:500]
    return Outcome("FAIL", None, str(run_dir), objectives, msg, _error_kind(exc))


def _error_kind(exc: BaseException) -> str:
    if isinstance(exc, TrialTimeoutError):
        return "timeout"
    if isinstance(exc, torch.OutOfMemoryError) or "out of memory" in str(exc).lower():
        return "oom"
    return "exception"


class ResultWriter:
    """A run's ``result.json``: RUNNING from the start, then its outcome (atomic writes)."""

    def __init__(self, run_dir: Path, params: dict[str, Any]) -> None:
        self.path, self.started = run_dir / RESULT, time.time()
        run_dir.mkdir(parents=True, exist_ok=True)
        self.base = {
            "status": "RUNNING",
            "params": params,
            "trial": reporting.current_trial(),
            "pid": os.getpid(),
        }
        atomic_write_json(self.path, self.base)

    def finish(self, outcome: Outcome, fitted: FitResult | None, extra: dict[str, Any]) -> Outcome:
        history = fitted.history if fitted else []
        atomic_write_json(self.path, {
            **self.base,
            "status": outcome.status,
            "objective": _objective_record(outcome, 0),
            "objectives": [_objective_record(outcome, i) for i in range(len(outcome.objectives))],
            "best": fitted.best if fitted and fitted.best else None,
            "final": history[-1] if history else None,
            "epochs": len(history),
            "duration_s": round(time.time() - self.started, 3),
            "error": outcome.error,
            "error_kind": outcome.error_kind,
            **extra,
        })  # fmt: skip
        return outcome


def run(
    cfg: DictConfig, run_dir: Path, *, choices: dict[str, Any] | None = None, cwd: str | None = None
) -> Outcome:
    # --- generative tasks (task=gan|vae) have their own loop and objective: hpt/generative ---
    if cfg.get("task", {}).get("name", "supervised") != "supervised":
        from hpt import generative

        return generative.run(cfg, run_dir, choices=choices, cwd=cwd)
    # --- end generative hook ---
    finish = ResultWriter(run_dir, run_params(cfg, choices)).finish

    try:
        built = build(cfg)
    except Exception as exc:
        objectives = _safe_objectives(cfg)
        kind = "config" if isinstance(exc, UserError) else _error_kind(exc)
        finish(Outcome("FAIL", None, str(run_dir), objectives, str(exc), kind), None, {})
        raise
    s = built.settings
    atomic_write_json(
        run_dir / MANIFEST,
        manifest(seed=s.seed, device=s.device, precision=s.precision, cwd=cwd or os.getcwd()),
    )
    extra: dict[str, Any] = {"model": {"n_params": built.n_params}}
    members = plan(
        cfg
    )  # trainer.folds / trainer.repeats: several fits, one objective (hpt.repeats)

    def on_epoch(metrics: dict[str, float]) -> None:
        append_jsonl(run_dir / METRICS, metrics)
        progress.epoch(metrics)

    fitted: FitResult | None = None
    steps = max(1, len(built.data.train) // s.batch_size)
    try:
        with RunProgress(s.epochs, steps, quiet=_quiet(cfg)) as progress:
            if len(members) == 1:
                fitted = fit(
                    built.model,
                    built.optimizer,
                    built.schedule,
                    built.data,
                    built.loss_fn,
                    s,
                    reporting.current(),
                    on_epoch,
                    progress.step,
                )
            else:
                multi = fit_members(
                    cfg,
                    built,
                    members,
                    reporting.current(),
                    on_epoch,
                    progress.step,
                    quiet=_quiet(cfg),
                )
                fitted, built, extra[multi.key] = (
                    multi.fitted,
                    multi.run,
                    multi.record,
                )  # built: the selected member
    except KeyboardInterrupt as exc:
        finish(failure(exc, run_dir, built.objectives), fitted, extra)
        raise
    except Exception as exc:  # a failing run is recorded, never lost
        return finish(failure(exc, run_dir, built.objectives), fitted, extra)

    if fitted.best_state is not None:
        _save_checkpoint(run_dir / CHECKPOINT, fitted.best_state)
        if fitted.status == "COMPLETE":
            # The test set is looked at once, with the weights chosen on validation.
            inner = getattr(built.model, "_orig_mod", built.model)
            inner.load_state_dict(fitted.best_state)
            extra["test"] = evaluate(built.model, built.data.test, built.loss_fn, s, "test")
            if built.compress is not None:
                try:
                    compressed = compressing.compress(
                        built.model,
                        built.data,
                        built.loss_fn,
                        built.settings,
                        built.compress,
                        built.optimizer,
                    )
                except Exception as exc:  # the trained run is kept; the failed stage is its error
                    msg = f"compress: {type(exc).__name__}: {exc}".splitlines()[0][:500]
                    return finish(
                        Outcome(
                            "FAIL", None, str(run_dir), built.objectives, msg, _error_kind(exc)
                        ),
                        fitted,
                        extra,
                    )
                compressing.save_compressed(run_dir / compressing.COMPRESSED, compressed.model)
                extra["compress"] = {**compressed.record, "checkpoint": compressing.COMPRESSED}
    extra["stopped_early"] = fitted.stopped_early
    times = [m["time/epoch_s"] for m in fitted.history]
    derived = {
        "model/n_params": float(built.n_params),
        "time/epoch_s": sum(times) / max(len(times), 1),
        "time/train_s": sum(times),
    }
    derived.update(
        compressing.objective_values(extra.get("compress", {}))
    )  # compress/val_acc, compress/size_bytes, ...
    values = None
    if fitted.best is not None and fitted.status != "FAIL":
        values = [
            float({**derived, **fitted.best}.get(o.name, float("nan"))) for o in built.objectives
        ]
    outcome = Outcome(
        fitted.status,
        values,
        str(run_dir),
        built.objectives,
        fitted.error,
        fitted.error_kind,
        fitted.best or {},
    )
    return finish(outcome, fitted, extra)


def _quiet(cfg: DictConfig) -> bool:
    return bool(cfg.trainer.get("quiet", False))


def _safe_objectives(cfg: DictConfig) -> list[Objective]:
    try:
        return resolve_objectives(
            cfg.objective.metric,
            cfg.objective.direction,
            data_problem(cfg),
        )
    except Exception:
        return []


def _objective_record(outcome: Outcome, i: int) -> dict[str, Any] | None:
    if i >= len(outcome.objectives):
        return None
    o = outcome.objectives[i]
    value = outcome.values[i] if outcome.values is not None else None
    return {"name": o.name, "value": value, "direction": o.direction}


def _save_checkpoint(path: Path, state: dict[str, torch.Tensor]) -> None:
    """A plain state_dict of CPU tensors, written then renamed (loadable with weights_only=True)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".pt.tmp")
    torch.save({k: v.detach().cpu() for k, v in state.items()}, tmp)
    os.replace(tmp, path)


def load_checkpoint(path: str | os.PathLike[str]) -> dict[str, torch.Tensor]:
    """Tensors only: ``weights_only=True`` refuses pickled code in a crafted file."""
    return torch.load(path, map_location="cpu", weights_only=True)


__all__ = ["LoopSettings", "Outcome", "load_checkpoint", "run", "task"]
