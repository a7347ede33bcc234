"""Runs made of several fits: k-fold cross-validation (``trainer.folds=K``) and repeated
seeds (``trainer.repeats=K``). Each member trains a fresh model built by ``hpt.build``.

- folds: member ``i`` validates on fold ``i`` of the training set (``hpt.training.cv``) and
  trains on the rest; every member uses ``trainer.seed``, so only the data differs.
- repeats: member ``i`` is the same config with ``trainer.seed = seed + i`` (the seed also
  draws the holdout split, the initialization and the batch order).

The run's objective is the mean over members of each member's best validation value (its
epoch selected on its own validation split); ``result.json`` keeps the per-member values,
their mean and sample standard deviation (ddof=1, as ``hpt summarize`` computes it for
seed groups). ``best`` holds the per-key mean of the members' best-epoch metrics, so
``objective.value == best[objective]``. The checkpoint, the test metrics and a compression
stage use the member with the best validation value; the per-member test metrics are
recorded too. Each ``metrics.jsonl`` row carries ``fold`` (or ``repeat`` and ``seed``).

Pruning. A sweep trial reports to Optuna once per finished member, never per epoch: at
step ``i`` (1-based) it reports the running mean of the first ``i`` members' values.
Optuna's pruners need steps that are increasing integers and values that mean the same
thing at the same step in every trial. Both hold: every trial of a study reports steps
1..K; at step ``i`` every trial has been scored on the same first ``i`` folds (the
partition depends only on the data size, K and the seed) or the same first ``i`` seeds,
so the median/percentile/successive-halving comparisons at a step compare like with like,
with the step count playing the part of the resource. Per-epoch reports would not: the
value falls back to an untrained model's at the start of every fold, so a step would mix
early-epoch and converged values. The last member's report never prunes (its work is done).
"""

from __future__ import annotations

import copy
import statistics
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import torch
from omegaconf import DictConfig, OmegaConf, open_dict

from hpt.build import Run, build
from hpt.training.cv import check_plan, fold_count
from hpt.training.loop import evaluate, fit
from hpt.training.loop_types import Callbacks, FitResult, LoopSettings, Metrics
from hpt.training.reporter import NullReporter, Reporter, tests_now

TAGS = ("fold", "repeat", "seed")  # the member keys on metrics.jsonl rows


@dataclass
class Member:
    index: int  # 0-based
    kind: str  # "fold" | "repeat"
    seed: int
    fold: int = 0

    @property
    def tag(self) -> dict[str, int]:
        """The keys that mark this member's metrics.jsonl rows."""
        return (
            {"fold": self.index}
            if self.kind == "fold"
            else {"repeat": self.index, "seed": self.seed}
        )


def counts(cfg: DictConfig) -> tuple[int, int]:
    """``(trainer.folds, trainer.repeats)``, 1 where unset."""
    return fold_count(cfg.trainer.get("folds", 1)), int(cfg.trainer.get("repeats", 1))


def plan(cfg: DictConfig) -> list[Member]:
    """The members of a run; a single member (no fit loop at all) for the usual run."""
    folds, repeats = counts(cfg)
    check_plan(folds, repeats)
    seed = int(cfg.trainer.seed)
    if folds > 1:
        return [Member(i, "fold", seed, fold=i) for i in range(folds)]
    return [Member(i, "repeat", seed + i) for i in range(repeats)]


def build_member(cfg: DictConfig, member: Member) -> Run:
    """A member's objects: its own fold, or the config with the member's seed."""
    if member.kind == "fold":
        return build(cfg, fold=member.fold)
    seeded = copy.deepcopy(cfg)
    OmegaConf.set_readonly(seeded, False)
    with open_dict(seeded):
        seeded.trainer.seed = member.seed
    return build(seeded)


def mean_metrics(rows: list[Metrics]) -> Metrics:
    """Per-key mean over the members' best-epoch metrics (keys all of them have, tags excepted)."""
    keys = [k for k in rows[0] if k not in TAGS and all(k in r for r in rows)]
    return {k: sum(float(r[k]) for r in rows) / len(rows) for k in keys}


def summary(
    members: list[Member],
    values: list[float],
    epochs: list[int],
    tests: list[Metrics],
    selected: int,
) -> dict[str, Any]:
    """The result.json entry (``cv`` or ``repeats``): each member's value, their mean and std.

    Args:
        members: The plan.
        values: The completed members' best validation values.
        epochs: Their best epochs.
        tests: Their test metrics.
        selected: The index of the member whose weights are kept.

    Returns:
        The entry.
    """
    kind = members[0].kind
    head: dict[str, Any] = (
        {"folds": len(members)}
        if kind == "fold"
        else {"k": len(members), "seeds": [m.seed for m in members]}
    )
    return {
        **head,
        "completed": len(values),
        "values": values,
        "mean": statistics.fmean(values) if values else None,
        "std": statistics.stdev(values) if len(values) > 1 else None,
        "best_epochs": epochs,
        "selected": selected,  # the member whose weights are checkpointed, tested and compressed
        "test": tests,
        "test_mean": mean_metrics(tests) if tests else None,
    }


@dataclass
class MultiFit:
    fitted: FitResult
    run: Run  # the selected member's objects, its best weights not yet loaded
    key: str  # "cv" | "repeats": the result.json entry
    record: dict[str, Any]


def fit_members(
    cfg: DictConfig,
    first: Run,
    members: list[Member],
    reporter: Reporter,
    on_epoch: Callable[[Metrics], None],
    on_step: Callable[[int], None] | None = None,
    quiet: bool = False,
) -> MultiFit:
    """Fit every member in turn; stop at the first failure or when the sweep prunes.

    Args:
        cfg: The run's composed config (each member after the first is built from it).
        first: The first member's objects, already built.
        members: The plan (``plan``).
        reporter: Told the running mean after each member but the last; it may prune.
        on_epoch: Called with each epoch's metrics, tagged with the member.
        on_step: Called with the step count after each training step.
        quiet: Do not announce each member on stderr.

    Returns:
        The members' combined outcome, the selected member's objects and the record.
    """
    s = first.settings
    tally = _Tally(first, test=tests_now(cfg.trainer.get("test", "auto")))
    status, error, error_kind = "COMPLETE", None, None
    for member in members:
        run = first if member.index == 0 else build_member(cfg, member)
        if not quiet:
            print(
                f"{member.kind} {member.index + 1}/{len(members)}"
                + (f" (seed {member.seed})" if member.kind == "repeat" else ""),
                file=sys.stderr,
                flush=True,
            )
        fitted = _fit_member(run, member, on_epoch, on_step)
        tally.history += fitted.history
        tally.stopped_early = tally.stopped_early or fitted.stopped_early
        if fitted.status != "COMPLETE" or fitted.best is None or fitted.best_state is None:
            status, error_kind = "FAIL", fitted.error_kind or "exception"
            error = f"{member.kind} {member.index}: {fitted.error or 'no best epoch'}"
            break
        tally.keep(member, run, fitted, s)
        del run
        if s.device.type == "cuda":
            torch.cuda.empty_cache()  # the members not selected are dropped as we go
        if member.index < len(members) - 1 and reporter.report(
            member.index + 1, statistics.fmean(tally.values), mean_metrics(tally.bests)
        ):
            status = "PRUNED"
            break
    best = mean_metrics(tally.bests) if tally.bests else None
    result = FitResult(
        status, tally.history, best, tally.selected_state, error, error_kind, tally.stopped_early
    )
    key = "cv" if members[0].kind == "fold" else "repeats"
    record = summary(members, tally.values, tally.epochs, tally.tests, tally.selected)
    return MultiFit(result, tally.selected_run, key, record)


def _fit_member(
    run: Run,
    member: Member,
    on_epoch: Callable[[Metrics], None],
    on_step: Callable[[int], None] | None,
) -> FitResult:
    """One member's fit; each epoch's metrics carry the member's tag."""

    def tagged(metrics: Metrics, tag: dict[str, int] = member.tag) -> None:
        metrics.update(tag)  # in place: the same dict is the history row, so both carry the tag
        on_epoch(metrics)

    # Members never report per epoch (see the module docstring): a NullReporter inside.
    return fit(run, Callbacks(NullReporter(), tagged, on_step))


@dataclass
class _Tally:
    """What the members have given so far, and the member selected (the best value yet)."""

    selected_run: Run  # the first member until a better one completes
    test: bool = True  # test each member's best weights (``trainer.test``)
    history: list[Metrics] = field(default_factory=list)
    bests: list[Metrics] = field(default_factory=list)
    values: list[float] = field(default_factory=list)
    epochs: list[int] = field(default_factory=list)
    tests: list[Metrics] = field(default_factory=list)
    selected_state: dict[str, torch.Tensor] | None = None
    selected: int = 0
    stopped_early: bool = False

    def keep(self, member: Member, run: Run, fitted: FitResult, s: LoopSettings) -> None:
        """Record a completed member: its best value and epoch, and its test metrics.

        ``s``: the first member's settings, whose objective and direction select.
        """
        assert fitted.best is not None and fitted.best_state is not None
        value = float(fitted.best[s.objective])
        values = self.values
        better = not values or (value > max(values) if s.maximize else value < min(values))
        self.bests.append(fitted.best)
        values.append(value)
        self.epochs.append(int(fitted.best["epoch"]))
        inner = getattr(run.model, "_orig_mod", run.model)
        inner.load_state_dict(fitted.best_state)
        if self.test:
            self.tests.append(evaluate(run.model, run.data.test, run.loss_fn, run.settings, "test"))
        if better:
            self.selected_run, self.selected_state, self.selected = (
                run,
                fitted.best_state,
                member.index,
            )
