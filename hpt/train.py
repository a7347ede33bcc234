"""One training run: build it, fit it, and write its run directory (see ``hpt.rundir``)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from omegaconf import DictConfig

from hpt import compress as compressing
from hpt import preprocessing, resume
from hpt import reporter as reporting
from hpt.build import Run, build, data_problem, resolve_objectives, run_params, task_kind
from hpt.config import validate
from hpt.loggers import Loggers, run_info, selection_of, track
from hpt.loop import FitResult, evaluate, fit, unwrap
from hpt.objectives import Objective
from hpt.progress import RunProgress
from hpt.record import (
    Outcome,
    RunRecord,
    derived_values,
    failure,
    load_checkpoint,
    outcome_of,
    save_checkpoint,
)
from hpt.repeats import fit_members, plan
from hpt.rundir import CHECKPOINT


def task(cfg: DictConfig) -> Outcome:
    """Hydra's task function for ``hpt train`` and for every sweep trial; returns the outcome."""
    from hydra.core.hydra_config import HydraConfig

    hc = HydraConfig.get()
    run_dir = Path(hc.runtime.output_dir)
    return run(cfg, run_dir, choices=dict(hc.runtime.choices), cwd=hc.runtime.cwd)


def run(
    cfg: DictConfig, run_dir: Path, *, choices: dict[str, Any] | None = None, cwd: str | None = None
) -> Outcome:
    """Build, fit, test (and compress) one run; a failure is recorded in result.json, never lost.

    Args:
        cfg: The composed config.
        run_dir: The run's directory.
        choices: Hydra's group choices (recorded as ``<group>.name`` params).
        cwd: The directory the command ran in.

    Returns:
        The run's outcome.
    """
    if task_kind(cfg) != "supervised":  # task=gan|vae: hpt/generative
        from hpt import generative

        return generative.run(cfg, run_dir, choices=choices, cwd=cwd)
    resume_from = resume_state(cfg, run_dir)
    start = int(resume_from["epoch"]) if resume_from else 0
    info = run_info(run_dir, run_params(cfg, choices), cwd, start)
    with track(selection_of(cfg.get("logger")), info) as loggers:
        return _run(cfg, run_dir, choices, cwd, resume_from, loggers)


def resume_state(cfg: DictConfig, run_dir: Path) -> dict[str, Any] | None:
    """With ``resume=RUN_DIR``: that run's ``last.pt``, its metrics.jsonl rows carried over.

    Args:
        cfg: The composed config.
        run_dir: The new run's directory, which receives the carried rows.

    Returns:
        The saved state, or None without ``resume``.
    """
    if not cfg.get("resume"):
        return None
    source = Path(str(cfg.resume))
    state = resume.load(source / resume.LAST)
    resume.carry_metrics(source, run_dir, int(state["epoch"]))
    return state


def _run(
    cfg: DictConfig,
    run_dir: Path,
    choices: dict[str, Any] | None,
    cwd: str | None,
    resume_from: dict[str, Any] | None,
    loggers: Loggers,
) -> Outcome:
    record = RunRecord(run_dir, run_params(cfg, choices))
    built = _build(cfg, record)
    s = built.settings
    record.manifest(seed=s.seed, device=s.device, precision=s.precision, cwd=cwd)
    extra: dict[str, Any] = {"model": {"n_params": built.n_params}}
    members = plan(cfg)  # trainer.folds / trainer.repeats: several fits, one objective
    quiet = bool(cfg.trainer.get("quiet", False))
    steps = max(1, len(built.data.train) // s.batch_size)
    if not quiet:  # what is about to run, before the first epoch (stderr, like the epochs)
        _announce(cfg, built)

    def fit_run() -> FitResult:
        nonlocal built
        with RunProgress(s.epochs, steps, quiet=quiet) as progress:

            def on_epoch(metrics: dict[str, float]) -> None:
                record.epoch(metrics)
                loggers.log_metrics(metrics, int(metrics["epoch"]))
                progress.epoch(metrics)

            if len(members) == 1:
                return fit(
                    built.model,
                    built.optimizer,
                    built.schedule,
                    built.data,
                    built.loss_fn,
                    s,
                    reporting.current(),
                    on_epoch,
                    progress.step,
                    last=run_dir / resume.LAST if cfg.trainer.get("save_last", True) else None,
                    resume_from=resume_from,
                )
            multi = fit_members(
                cfg, built, members, reporting.current(), on_epoch, progress.step, quiet=quiet
            )
            built, extra[multi.key] = multi.run, multi.record  # built: the selected member
            return multi.fitted

    fitted = record.guard(fit_run, built.objectives, extra)
    if isinstance(fitted, Outcome):
        return fitted
    if fitted.best_state is not None:
        failed = _keep_best(cfg, cwd, built, fitted, record, extra)
        if failed is not None:
            return failed
    extra["stopped_early"] = fitted.stopped_early
    derived = derived_values(fitted.history, built.n_params)
    derived.update(compressing.objective_values(extra.get("compress", {})))  # compress/val_acc ...
    return record.finish(outcome_of(fitted, built.objectives, derived, run_dir), fitted, extra)


def _build(cfg: DictConfig, record: RunRecord) -> Run:
    """The run's objects; a config or build error is recorded in result.json, then raised."""
    try:
        # `hpt train` checked this before the run dir existed; a sweep trial's sampled values
        # are checked here, so one out of range fails that trial as a config error.
        validate(cfg)
        return build(cfg)
    except Exception as exc:
        record.build_failed(exc, _safe_objectives(cfg))
        raise


def _announce(cfg: DictConfig, built: Run) -> None:
    """One line on stderr: the data, the model and where it trains."""
    d, s = built.data, built.settings
    print(
        f"data: {cfg.data.get('name', 'data')}  {len(d.train):,} train / {len(d.val):,} val / "
        f"{len(d.test):,} test  |  model: {type(unwrap(built.model)).__name__} "
        f"{built.n_params:,} parameters  |  {s.device}, {s.precision}, {s.epochs} epochs",
        file=sys.stderr,
        flush=True,
    )


def _keep_best(
    cfg: DictConfig,
    cwd: str | None,
    built: Run,
    fitted: FitResult,
    record: RunRecord,
    extra: dict[str, Any],
) -> Outcome | None:
    """Save the best weights, test them once and compress them (into ``extra``).

    Returns the recorded outcome when compression fails (the trained run is kept), else None.
    """
    assert fitted.best_state is not None
    run_dir, s = record.run_dir, built.settings
    save_checkpoint(run_dir / CHECKPOINT, fitted.best_state)
    # what `hpt predict`, `eval` and `export` need besides the weights (plain JSON)
    preprocessing.save(run_dir, built, cfg, cwd)
    if fitted.status != "COMPLETE":
        return None
    # The test set is looked at once, with the weights chosen on validation.
    unwrap(built.model).load_state_dict(fitted.best_state)
    extra["test"] = evaluate(built.model, built.data.test, built.loss_fn, s, "test")
    if built.compress is None:
        return None
    try:
        compressed = compressing.compress(
            built.model, built.data, built.loss_fn, s, built.compress, built.optimizer
        )
    except Exception as exc:  # the trained run is kept; the failed stage is its error
        return record.finish(failure(exc, run_dir, built.objectives, "compress"), fitted, extra)
    save_checkpoint(run_dir / compressing.COMPRESSED, compressed.model.state_dict())
    extra["compress"] = {**compressed.record, "checkpoint": compressing.COMPRESSED}
    return None


def _safe_objectives(cfg: DictConfig) -> list[Objective]:
    """The objectives, for the record of a run that could not be built (none if they are bad)."""
    try:
        return resolve_objectives(cfg.objective.metric, cfg.objective.direction, data_problem(cfg))
    except Exception:
        return []


__all__ = ["Outcome", "load_checkpoint", "run", "task"]
