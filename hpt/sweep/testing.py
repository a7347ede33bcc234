"""The test split, looked at once per sweep: for the model the sweep hands over.

Trials do not test (``trainer.test=auto``): a test pass per trial costs time (on MNIST's
10,000 test images, more than a 6,000-image trial's validation) and puts the test set in
front of whoever picks by it. After the sweep, its refit (``hpt.sweep.refit``) tests itself;
without one, the chosen trial's ``best.pt`` is tested here, exactly as ``hpt eval TRIAL``
would (``hpt.use.evaluate.evaluate_run``), into ``TRIAL/test.json`` and ``sweep.json``'s
``test``. The trial's result.json is a record and is not rewritten.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from hpt.errors import one_line
from hpt.result import read_result
from hpt.rundir import TEST, atomic_write_json, read_json
from hpt.sweep.refit import add_to_sweep_json


def test_metrics(run_dir: Path) -> dict[str, Any] | None:
    """A run's test metrics: its result.json's ``test`` block, else its ``test.json``."""
    test = (read_result(run_dir) or {}).get("test")
    if isinstance(test, dict) and test:
        return test
    saved = read_json(run_dir / TEST)
    return saved.get("metrics") if isinstance(saved, dict) else None


def evaluate_handed_over(sweep_dir: Path, trial: dict[str, Any]) -> dict[str, Any] | None:
    """Test the chosen trial's best weights once; record and return the metrics (None when
    they cannot be had: the failure is one warning line, never the sweep's exit status)."""
    run_dir = sweep_dir / str(trial.get("dir"))
    metrics = test_metrics(run_dir)
    if metrics is None:
        try:
            from hpt.use.evaluate import evaluate_run

            metrics = dict(evaluate_run(run_dir)["metrics"])
        except Exception as exc:
            print(
                f"hpt sweep: warning: could not test trial #{trial.get('number')}: {one_line(exc)}"
            )
            return None
        atomic_write_json(run_dir / TEST, {"trial": trial.get("number"), "metrics": metrics})
    record = {"trial": trial.get("number"), "dir": trial.get("dir"), "metrics": metrics}
    add_to_sweep_json(sweep_dir, record, "test")
    return record
