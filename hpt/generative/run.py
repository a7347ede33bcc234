"""One generative run (``task=gan`` / ``task=vae``), writing the same run directory as ``hpt.train``.

result.json, metrics.jsonl, manifest.json and checkpoints/best.pt follow ``hpt.rundir``; the
run adds ``samples/epoch_XXX.png`` grids and, for the GAN, a ``scorer`` record in result.json.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from omegaconf import DictConfig

from hpt import reporter as reporting
from hpt.build import task_kind
from hpt.generative.build import build, params, resolve_objectives
from hpt.generative.gan import gan_epoch_fn, gan_test
from hpt.generative.samples import grid_path
from hpt.generative.vae import vae_epoch_fn, vae_test
from hpt.loggers import Loggers, run_info, selection_of, track
from hpt.loop import FitResult, Metrics, run_epochs
from hpt.objectives import Objective
from hpt.progress import RunProgress
from hpt.record import Outcome, RunRecord, derived_values, outcome_of, save_checkpoint
from hpt.rundir import CHECKPOINT


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
    """The objectives, for the record of a run that could not be built (none if they are bad too)."""
    try:
        return resolve_objectives(cfg.objective.metric, cfg.objective.direction, task_kind(cfg))
    except Exception:
        return []


def run(
    cfg: DictConfig, run_dir: Path, *, choices: dict[str, Any] | None = None, cwd: str | None = None
) -> Outcome:
    """Build, fit and record one GAN or VAE run; a failure is recorded in result.json, never lost."""
    info = run_info(run_dir, params(cfg, choices), cwd)
    with track(selection_of(cfg.get("logger")), info) as loggers:
        return _run(cfg, run_dir, choices, cwd, loggers)


def _run(
    cfg: DictConfig,
    run_dir: Path,
    choices: dict[str, Any] | None,
    cwd: str | None,
    loggers: Loggers,
) -> Outcome:
    record = RunRecord(run_dir, params(cfg, choices))
    try:
        built = build(cfg)
    except Exception as exc:
        record.build_failed(exc, _safe_objectives(cfg))
        raise
    s = built.settings
    record.manifest(seed=s.seed, device=s.device, precision=s.precision, cwd=cwd)
    extra: dict[str, Any] = {"model": {"n_params": built.n_params}, **built.info}
    steps = max(1, len(built.data.train) // s.batch_size)

    def fit_run() -> FitResult:
        quiet = bool(cfg.trainer.get("quiet", False))
        with GenerativeProgress(s.epochs, steps, quiet=quiet) as progress:

            def on_epoch(metrics: Metrics) -> None:
                record.epoch(metrics)
                epoch = int(metrics["epoch"])
                loggers.log_metrics(metrics, epoch)
                for suffix in ("", "_recon"):  # the grids this epoch wrote (VAE: and _recon)
                    if grid_path(run_dir, epoch, suffix).is_file():
                        loggers.log_image(
                            f"samples{suffix}", grid_path(run_dir, epoch, suffix), epoch
                        )
                progress.epoch(metrics)

            make_epoch = gan_epoch_fn if s.kind == "gan" else vae_epoch_fn
            epoch_fn = make_epoch(built, run_dir, progress.step)
            return run_epochs(
                built.model,
                epoch_fn,
                s.epochs,
                s.objective,
                s.maximize,
                reporting.current(),
                on_epoch,
            )

    fitted = record.guard(fit_run, built.objectives, extra)
    if isinstance(fitted, Outcome):
        return fitted
    if fitted.best_state is not None:
        save_checkpoint(run_dir / CHECKPOINT, fitted.best_state)
        if fitted.status == "COMPLETE":
            # The test split is seen once, with the weights chosen on validation.
            built.model.load_state_dict(fitted.best_state)
            extra["test"] = gan_test(built) if s.kind == "gan" else vae_test(built)
    derived = derived_values(fitted.history, built.n_params)
    return record.finish(outcome_of(fitted, built.objectives, derived, run_dir), fitted, extra)
