"""One generative run (``task=gan`` / ``task=vae``), writing the same run directory as ``hpt.train``.

result.json, metrics.jsonl, manifest.json and checkpoints/best.pt follow ``hpt.rundir``; the
run adds ``samples/epoch_XXX.png`` grids and, for the GAN, a ``scorer`` record in result.json.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from omegaconf import DictConfig

from hpt import reporter as reporting
from hpt.build import Objective
from hpt.errors import UserError
from hpt.generative.build import GenerativeRun, build, params, resolve_objectives, task_kind
from hpt.generative.fit import fit_epochs
from hpt.generative.gan import gan_epoch_fn, gan_test
from hpt.generative.vae import vae_epoch_fn, vae_test
from hpt.loop import FitResult, Metrics
from hpt.manifest import manifest
from hpt.progress import RunProgress
from hpt.rundir import CHECKPOINT, MANIFEST, METRICS, append_jsonl, atomic_write_json
from hpt.train import Outcome, ResultWriter, _error_kind, _quiet, _save_checkpoint, failure


class GenerativeProgress(RunProgress):
    # The metrics worth a glance per epoch (the base class lists the supervised ones).
    KEYS = (
        "train/loss",
        "train/d_loss",
        "val/loss",
        "val/score",
        "val/d_loss",
        "val/recon",
        "val/kl",
        "throughput/samples_per_s",
    )  # type: ignore[assignment]


def _safe_objectives(cfg: DictConfig) -> list[Objective]:
    try:
        return resolve_objectives(cfg.objective.metric, cfg.objective.direction, task_kind(cfg))
    except Exception:
        return []


def run(
    cfg: DictConfig, run_dir: Path, *, choices: dict[str, Any] | None = None, cwd: str | None = None
) -> Outcome:
    """Build, fit and record one GAN or VAE run; a failure is recorded in result.json, never lost."""
    finish = ResultWriter(run_dir, params(cfg, choices)).finish

    try:
        built = build(cfg)
    except Exception as exc:
        kind = "config" if isinstance(exc, UserError) else _error_kind(exc)
        finish(Outcome("FAIL", None, str(run_dir), _safe_objectives(cfg), str(exc), kind), None, {})
        raise
    s = built.settings
    atomic_write_json(
        run_dir / MANIFEST,
        manifest(seed=s.seed, device=s.device, precision=s.precision, cwd=cwd or os.getcwd()),
    )
    extra: dict[str, Any] = {"model": {"n_params": built.n_params}, **built.info}

    fitted: FitResult | None = None
    steps = max(1, len(built.data.train) // s.batch_size)
    try:
        with GenerativeProgress(s.epochs, steps, quiet=_quiet(cfg)) as progress:

            def on_epoch(metrics: Metrics) -> None:
                append_jsonl(run_dir / METRICS, metrics)
                progress.epoch(metrics)

            make_epoch = gan_epoch_fn if s.kind == "gan" else vae_epoch_fn
            epoch_fn = make_epoch(built, run_dir, progress.step)
            fitted = fit_epochs(
                built.model,
                epoch_fn,
                s.epochs,
                s.objective,
                s.maximize,
                reporting.current(),
                on_epoch,
            )
    except KeyboardInterrupt as exc:
        finish(failure(exc, run_dir, built.objectives), fitted, extra)
        raise
    except Exception as exc:  # a failing run is recorded, never lost
        return finish(failure(exc, run_dir, built.objectives), fitted, extra)

    if fitted.best_state is not None:
        _save_checkpoint(run_dir / CHECKPOINT, fitted.best_state)
        if fitted.status == "COMPLETE":
            # The test split is seen once, with the weights chosen on validation.
            built.model.load_state_dict(fitted.best_state)
            extra["test"] = _test(built)
    return finish(_outcome(built, fitted, run_dir), fitted, extra)


def _test(built: GenerativeRun) -> Metrics:
    return gan_test(built) if built.settings.kind == "gan" else vae_test(built)


def _outcome(built: GenerativeRun, fitted: FitResult, run_dir: Path) -> Outcome:
    times = [m["time/epoch_s"] for m in fitted.history]
    derived = {
        "model/n_params": float(built.n_params),
        "time/epoch_s": sum(times) / max(len(times), 1),
        "time/train_s": sum(times),
    }
    values = None
    if fitted.best is not None and fitted.status != "FAIL":
        values = [
            float({**derived, **fitted.best}.get(o.name, float("nan"))) for o in built.objectives
        ]
    return Outcome(
        fitted.status,
        values,
        str(run_dir),
        built.objectives,
        fitted.error,
        fitted.error_kind,
        fitted.best or {},
    )
