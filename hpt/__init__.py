"""hpt: command-line hyperparameter tuning for PyTorch models.

The public API for a user's own training loop in a sweep is ``hpt.report(value, step)``
and ``hpt.TrialPruned`` (see README, "Pruning your own loop").
"""

from typing import Any

from hpt.training.reporter import report

__version__ = "0.1.0"
__all__ = ["TrialPruned", "report"]


def __getattr__(name: str) -> Any:
    # TrialPruned subclasses optuna.TrialPruned: resolved lazily so `import hpt` stays light.
    if name == "TrialPruned":
        from hpt.training.reporter import pruned_error

        return pruned_error()
    raise AttributeError(f"module 'hpt' has no attribute {name!r}")
