"""How a training loop talks to a sweep: one call per epoch (or step), nothing else.

Outside a sweep the reporter is a no-op. In a sweep it reports the objective to Optuna
and answers whether the trial should be pruned. User code calls the public
``hpt.report(value, step)``, which raises ``hpt.TrialPruned`` when the pruner says stop.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol


class Reporter(Protocol):
    def report(self, epoch: int, value: float, metrics: Mapping[str, float]) -> bool:
        """Record the objective after ``epoch``; return True to stop the run (pruned)."""
        ...


class NullReporter:
    def report(self, epoch: int, value: float, metrics: Mapping[str, float]) -> bool:
        """Outside a sweep there is no one to report to: never stops the run."""
        return False


_current: Reporter = NullReporter()
_trial: dict[str, object] | None = None


def current() -> Reporter:
    """The reporter of the trial running in this process (a no-op one outside a sweep)."""
    return _current


def current_trial() -> dict[str, object] | None:
    """``{"number": ..., "study_name": ...}`` inside a sweep trial, else None."""
    return _trial


def tests_now(setting: object) -> bool:
    """Whether a run tests its best weights (``trainer.test``): ``auto`` tests in ``hpt train``
    but not in a sweep trial, where the sweep tests the one model it hands over (it keeps the
    test set out of every choice, and spares each trial a pass over it)."""
    return setting is True or (setting == "auto" and _trial is None)


def set_current(reporter: Reporter | None, trial: dict[str, object] | None = None) -> None:
    """The sweeper installs a trial's reporter around the task function call."""
    global _current, _trial
    _current = reporter if reporter is not None else NullReporter()
    _trial = trial


def report(value: float, step: int, metrics: Mapping[str, float] | None = None) -> None:
    """Record an intermediate objective ``value`` at ``step`` (an epoch, say) of this trial.

    Raises ``hpt.TrialPruned`` when the sweep's pruner stops the trial; does nothing
    outside a sweep, so a script that calls it still runs on its own.
    """
    reporter = _current
    if isinstance(reporter, NullReporter):
        return
    if reporter.report(int(step), float(value), metrics or {}):
        raise pruned_error()(f"pruned at step {step} (value {float(value):.6g})")


_pruned: type[Exception] | None = None


def pruned_error() -> Any:
    """``hpt.TrialPruned``: a subclass of ``optuna.TrialPruned``, made on first use so that
    importing hpt never imports optuna."""
    global _pruned
    if _pruned is None:
        import optuna

        class TrialPruned(optuna.TrialPruned):
            """Raised by ``hpt.report`` when the sweep's pruner stops the trial."""

        TrialPruned.__module__, TrialPruned.__qualname__ = "hpt", "TrialPruned"
        _pruned = TrialPruned
    return _pruned
