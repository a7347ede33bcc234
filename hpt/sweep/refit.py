"""The refit, as scikit-learn's ``refit=True``: after a sweep of hpt's own task, the chosen
trial's config is trained once more on every training row (its validation rows too) for the
epochs its validation chose, into ``SWEEP/best/``, a normal run dir. ``hydra.sweeper.refit``:
``auto`` (when the trials were cross-validated), ``true`` or ``false``.

Why: the chosen trial's weights saw only part of the training rows (90% with a holdout, 80%
per fold with k-fold, where ``best.pt`` is one fold's model). The refit's model saw them all,
with the epoch count the validation chose (the median over folds). ``hpt predict``, ``eval``
and ``export`` given the sweep dir use ``SWEEP/best/``.

The refit runs ``hpt train`` in a child process (the sweep's own Hydra is still running) with
the trial's recorded overrides (``.hydra/overrides.yaml``), ``trainer.refit=true``,
``trainer.folds=1`` and the chosen ``trainer.epochs``. It trains into ``best.tmp/`` and takes
the name ``best/`` only once it finished, so ``best/`` is always a whole run; a rerun of a
finished sweep whose choice did not change keeps it.
"""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
from pathlib import Path
from typing import Any

from hpt.cli.argv import config_dir_flag
from hpt.result import read_result
from hpt.rundir import SWEEP, atomic_write_json, read_json

BEST = "best"  # SWEEP/best/: the refit model's run dir
REFIT = "refit.json"  # SWEEP/best/refit.json: which trial it refits, for how many epochs
# Overrides the refit sets itself, whatever the trial had.
_OWN = (
    "trainer.epochs",
    "trainer.folds",
    "trainer.refit",
    "trainer.quiet",
    "trainer.test",
    "hydra.",
)


def cross_validated(sweep_dir: Path, trial: dict[str, Any]) -> bool:
    """Whether the trial was scored by k-fold validation: its checkpoint is one fold's model."""
    return isinstance((read_result(sweep_dir / str(trial.get("dir"))) or {}).get("cv"), dict)


def chosen_epochs(result: dict[str, Any]) -> int | None:
    """The epochs the trial's validation chose: its best epoch, or the folds' median one."""
    cv = result.get("cv")
    if isinstance(cv, dict) and cv.get("best_epochs"):
        return max(1, round(statistics.median(int(e) for e in cv["best_epochs"])))
    best = result.get("best")
    if isinstance(best, dict) and isinstance(best.get("epoch"), int | float):
        return int(best["epoch"])
    return None


def refit_command(sweep_dir: Path, trial_dir: str, epochs: int) -> list[str] | None:
    """``hpt train``'s argv for the refit of ``trial_dir``, or None without its overrides."""
    from omegaconf import OmegaConf

    recorded = sweep_dir / trial_dir / ".hydra" / "overrides.yaml"
    if not recorded.is_file():
        return None
    loaded = OmegaConf.to_container(OmegaConf.load(recorded))
    overrides = [str(o) for o in loaded] if isinstance(loaded, list) else []
    kept = [o for o in overrides if not o.lstrip("+~").startswith(_OWN)]
    flag = config_dir_flag() or os.environ.get("HPT_CONFIG_DIR")
    return [
        sys.executable,
        "-m",
        "hpt",
        "train",
        *(["--config-dir", flag] if flag else []),
        *kept,
        f"trainer.epochs={epochs}",
        "trainer.folds=1",
        "trainer.refit=true",
        "trainer.quiet=true",
        f"hydra.run.dir={sweep_dir / (BEST + '.tmp')}",
    ]


def refit(sweep_dir: Path, best: dict[str, Any]) -> dict[str, Any] | None:
    """Train the chosen trial's config on every training row into ``SWEEP/best/``.

    Args:
        sweep_dir: The sweep's folder.
        best: The chosen trial, as ``sweep.json`` lists it (``number``, ``dir``).

    Returns:
        What ``sweep.json`` records of the refit (its dir, trial, epochs, test metrics), or
        None when the trial has nothing to refit from (one line says why).
    """
    result = read_result(sweep_dir / str(best.get("dir"))) or {}
    epochs = chosen_epochs(result)
    argv = refit_command(sweep_dir, str(best.get("dir")), epochs) if epochs else None
    if argv is None or epochs is None:
        print(f"hpt sweep: no refit: trial #{best.get('number')} recorded no best epoch")
        return None
    target, done = sweep_dir / BEST, read_json(sweep_dir / BEST / REFIT) or {}
    if (
        done.get("trial") == best.get("number")
        and (read_result(target) or {}).get("status") == "COMPLETE"
    ):
        return _record(target, done)
    rows = (result.get("rows") or {}).get("train", 0) + (result.get("rows") or {}).get("val", 0)
    print(
        f"refit: trial #{best.get('number')}'s config on all {rows or 'the'} training rows for "
        f"{epochs} epochs -> {target}",
        flush=True,
    )
    tmp = sweep_dir / (BEST + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    ran = subprocess.run(argv, capture_output=True, text=True)
    if ran.returncode != 0 or (read_result(tmp) or {}).get("status") != "COMPLETE":
        why = (ran.stderr.strip().splitlines() or ["failed"])[-1]
        print(f"hpt sweep: the refit failed ({why}); the chosen trial's own model is in its dir")
        return None
    info = {"trial": best.get("number"), "trial_dir": best.get("dir"), "epochs": epochs}
    atomic_write_json(tmp / REFIT, info)
    shutil.rmtree(target, ignore_errors=True)
    os.replace(tmp, target)
    return _record(target, info)


def _record(target: Path, info: dict[str, Any]) -> dict[str, Any]:
    """The refit as ``sweep.json`` lists it."""
    test = (read_result(target) or {}).get("test") or {}
    return {**info, "dir": BEST, "test": test}


def add_to_sweep_json(sweep_dir: Path, record: dict[str, Any], key: str = "refit") -> None:
    """``sweep.json`` gains the hand-over's ``key`` (the refit, its test; the monitor wrote
    the rest)."""
    current = read_json(sweep_dir / SWEEP) or {}
    atomic_write_json(sweep_dir / SWEEP, {**current, key: record})
