"""How the training loop talks to a sweep: one call per epoch, nothing else.

In ``hpt train`` the reporter is a no-op. In a sweep it reports the objective to Optuna
and answers whether the trial should be pruned.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol


class Reporter(Protocol):
    def report(self, epoch: int, value: float, metrics: Mapping[str, float]) -> bool:
        """Record the objective after ``epoch``; return True to stop the run (pruned)."""
        ...


class NullReporter:
    def report(self, epoch: int, value: float, metrics: Mapping[str, float]) -> bool:
        return False


_current: Reporter = NullReporter()
_trial: dict[str, object] | None = None


def current() -> Reporter:
    return _current


def current_trial() -> dict[str, object] | None:
    """``{"number": ..., "study_name": ...}`` inside a sweep trial, else None."""
    return _trial


def set_current(reporter: Reporter | None, trial: dict[str, object] | None = None) -> None:
    """The sweeper installs a trial's reporter around the task function call."""
    global _current, _trial
    _current = reporter if reporter is not None else NullReporter()
    _trial = trial
