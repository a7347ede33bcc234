"""The supervised task (``task=supervised``, the default): ``model`` on ``data`` with ``loss``,
``optimizer`` and ``scheduler``, fitted by ``hpt.training.loop`` (or per fold / repeat by
``hpt.training.repeats``), its best weights tested once and optionally compressed.

``hpt.train.run`` drives it through the ``hpt.task.Task`` protocol.
"""

from __future__ import annotations

import math
import sys
from pathlib import Path
from typing import Any

from omegaconf import DictConfig, open_dict
from torch import nn

from hpt import compress as compressing
from hpt.build import Run, build, data_problem, load_source, resolve_objectives, run_params
from hpt.objectives import Objective
from hpt.record import Outcome, RunRecord, derived_values, failure, save_checkpoint
from hpt.rundir import CHECKPOINT
from hpt.selection import diverged
from hpt.task import Hooks
from hpt.training import reporter as reporting
from hpt.training import resume
from hpt.training.cv import SMALL_TABLE, auto_folds, class_labels, smallest_class
from hpt.training.loop import evaluate, fit, unwrap
from hpt.training.loop_types import Callbacks, FitResult
from hpt.training.progress import RunProgress
from hpt.training.repeats import fit_members, plan
from hpt.use import preprocessing


class Supervised:
    """hpt's supervised run: classification, binary or regression (the data's ``problem``)."""

    progress = RunProgress
    resumable = True

    def params(self, cfg: DictConfig, choices: dict[str, Any] | None) -> dict[str, Any]:
        """The flattened groups and ``objective``, plus the group choices."""
        return run_params(cfg, choices)

    def objectives(self, cfg: DictConfig) -> list[Objective]:
        """``objective.*``, ``auto`` resolved from the data's problem."""
        return resolve_objectives(cfg.objective.metric, cfg.objective.direction, data_problem(cfg))

    def build(self, cfg: DictConfig) -> Run:
        """The run's objects, from a config ``hpt.train.run`` has validated."""
        resolve_folds(cfg)
        return build(cfg)

    def info(self, cfg: DictConfig, built: Run) -> dict[str, Any]:
        """Nothing beyond the model size; announces the run on stderr unless quiet."""
        if not cfg.trainer.get("quiet", False):
            _announce(cfg, built)
        return {}

    def fit(
        self, cfg: DictConfig, built: Run, hooks: Hooks, extra: dict[str, Any]
    ) -> tuple[FitResult, Run]:
        """One fit, or one per fold / repeat (``trainer.folds`` / ``trainer.repeats``).

        With several members the objects returned are the selected member's, and
        ``extra`` gains their record (``cv`` or ``repeats``).
        """
        members = plan(cfg)
        if len(members) == 1:
            last = hooks.run_dir / resume.LAST if cfg.trainer.get("save_last", True) else None
            calls = Callbacks(hooks.reporter, hooks.on_epoch, hooks.on_step)
            fitted = fit(built, calls, last=last, resume_from=hooks.resume_from)
            return fitted, built
        multi = fit_members(
            cfg, built, members, hooks.reporter, hooks.on_epoch, hooks.on_step, quiet=hooks.quiet
        )
        extra[multi.key] = multi.record
        return multi.fitted, multi.run

    def images(self, run_dir: Path, epoch: int) -> list[tuple[str, Path]]:
        """A supervised run writes no images."""
        return []

    def keep_best(
        self,
        cfg: DictConfig,
        built: Run,
        fitted: FitResult,
        record: RunRecord,
        extra: dict[str, Any],
        cwd: str | None,
    ) -> Outcome | None:
        """Save the best weights and what predicting needs, test them once, compress them.

        Returns the recorded outcome when compression fails (the trained run is kept).
        """
        d = built.data
        extra["rows"] = {"train": len(d.train), "val": len(d.val), "test": len(d.test)}
        # a sweep never chooses a run whose training diverged (hpt.selection)
        extra["diverged"] = diverged(fitted.history, chance_loss(built))
        if fitted.best_state is not None:
            failed = _keep_best(cfg, built, fitted, record, extra, cwd)
            if failed is not None:
                return failed
        extra["stopped_early"] = fitted.stopped_early
        return None

    def derived(self, fitted: FitResult, built: Run, extra: dict[str, Any]) -> dict[str, float]:
        """``n_params``, ``time_to_best`` ... and the compressed model's values."""
        derived = derived_values(fitted.history, built.n_params)
        derived.update(compressing.objective_values(extra.get("compress", {})))
        return derived


_said_folds = False  # the auto k-fold line is said once per process


def resolve_folds(cfg: DictConfig) -> None:
    """``trainer.folds=auto`` becomes a number, from the data (``hpt.training.cv.auto_folds``)."""
    global _said_folds
    if cfg.trainer.get("folds", 1) != "auto":
        return
    if cfg.trainer.get("refit", False):  # one model on every row
        with open_dict(cfg):
            cfg.trainer.folds = 1
        return
    src = load_source(cfg.data)
    rows = len(src.train_x) + (len(src.val_x) if src.val_x is not None else 0)
    subset = cfg.data.get("subset")
    rows = min(rows, int(subset)) if subset else rows
    labels = class_labels(src.train_y[: int(subset)] if subset else src.train_y, src.problem)
    rarest = smallest_class(labels) if labels is not None else None
    in_sweep = reporting.current_trial() is not None
    folds = auto_folds(rows, src.train_x.dim() == 2, in_sweep, rarest)
    with open_dict(cfg):
        cfg.trainer.folds = folds
    if folds > 1 and not _said_folds:
        _said_folds = True
        print(
            f"trainer.folds=auto: {folds}-fold cross-validation, the table has {rows} rows "
            f"(< {SMALL_TABLE}: a holdout that small cannot separate trials; trainer.folds=1 "
            "turns it off)",
            file=sys.stderr,
            flush=True,
        )


def chance_loss(built: Run) -> float | None:
    """The training loss of a model that predicts the prior, where the loss says what it is:
    ``ln C`` (cross-entropy), ``ln 2`` (BCE), 1 (MSE on a standardised target)."""
    loss, d = built.loss_fn, built.data
    if isinstance(loss, nn.CrossEntropyLoss) and d.out_features > 1:
        return math.log(d.out_features)  # num_classes is 0 where the labels say it
    if isinstance(loss, nn.BCEWithLogitsLoss):
        return math.log(2)
    if isinstance(loss, nn.MSELoss) and d.target_scale is not None:
        return 1.0
    return None


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
    built: Run,
    fitted: FitResult,
    record: RunRecord,
    extra: dict[str, Any],
    cwd: str | None,
) -> Outcome | None:
    """Save the best weights, test them once and compress them (into ``extra``)."""
    assert fitted.best_state is not None
    run_dir, s = record.run_dir, built.settings
    save_checkpoint(run_dir / CHECKPOINT, fitted.best_state)
    # what `hpt predict`, `eval` and `export` need besides the weights (plain JSON)
    preprocessing.save(run_dir, built, cfg, cwd)
    if fitted.status != "COMPLETE":
        return None
    # The test set is looked at once, with the weights chosen on validation (in a sweep: by
    # the sweep, for the model it hands over; trainer.test).
    unwrap(built.model).load_state_dict(fitted.best_state)
    if reporting.tests_now(cfg.trainer.get("test", "auto")):
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
