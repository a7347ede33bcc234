"""Pruning for Lightning trainers in an hpt sweep, with no user code.

Add it where lightning-hydra-template keeps its callbacks (``configs/callbacks/``)::

    prune:
      _target_: hpt.integrations.lightning.PruningCallback
      monitor: val/acc

After each validation it reports ``trainer.callback_metrics[monitor]`` for the current epoch
with ``hpt.report``; when the sweep's pruner says stop, the raised ``hpt.TrialPruned`` leaves
``trainer.fit`` and the sweeper records the trial as PRUNED. Outside a sweep it does nothing.
"""

from __future__ import annotations

import warnings
from typing import Any

try:  # the unified package (lightning >= 2) first, as lightning-hydra-template uses it
    from lightning.pytorch import Callback
except ImportError:  # pragma: no cover - depends on what the user installed
    try:
        from pytorch_lightning import Callback  # type: ignore[assignment]
    except ImportError as exc:
        raise ImportError(
            "hpt.integrations.lightning needs Lightning: pip install 'hpt[lightning]' "
            "(from a checkout: '.[lightning]')"
        ) from exc

from hpt.training.reporter import report

__all__ = ["PruningCallback"]


class PruningCallback(Callback):  # type: ignore[misc]
    """Report a validation metric to the sweep after each validation; stop pruned trials.

    Args:
        monitor: The logged metric the sweep optimizes (``val/acc``, ``val/loss``, ...).
    """

    def __init__(self, monitor: str = "val/acc") -> None:
        super().__init__()
        self.monitor = monitor
        self._warned = False

    def on_validation_end(self, trainer: Any, pl_module: Any) -> None:
        if trainer.sanity_checking:  # Lightning's two warm-up batches are not an epoch
            return
        value = trainer.callback_metrics.get(self.monitor)
        if value is None:
            if not self._warned:
                self._warned = True
                known = ", ".join(sorted(trainer.callback_metrics)) or "none"
                warnings.warn(
                    f"PruningCallback: no metric {self.monitor!r} was logged (logged: {known}); "
                    "this trial is not pruned",
                    stacklevel=2,
                )
            return
        report(float(value), step=trainer.current_epoch)
