"""The report's closing block: the commands that put the best run's model to use."""

from __future__ import annotations

import os
import shlex
from pathlib import Path
from typing import TYPE_CHECKING

from hpt.rundir import read_json
from hpt.summarize import analysis
from hpt.summarize.query import rank_runs
from hpt.summarize.render import Section, fmt

if TYPE_CHECKING:
    import pandas as pd

TITLE = "Use the best model"


def _shown(run: str) -> str:
    """The run dir as the reader would type it: relative to here when it is below here."""
    path = Path(run).resolve()
    try:
        text = os.path.relpath(path) if path.is_relative_to(Path.cwd()) else str(path)
    except ValueError:  # another drive
        text = str(path)
    return shlex.quote(text)


def _refit_of(sweep_dir: object) -> object | None:
    """The trial a sweep dir's refit model (``best/refit.json``) was trained from, or None."""
    if not isinstance(sweep_dir, str) or not sweep_dir:
        return None
    record = read_json(Path(sweep_dir) / "best" / "refit.json")
    return record.get("trial") if record else None


def use_best_section(frame: pd.DataFrame, label: str | None = None) -> Section | None:
    """``hpt eval``, ``hpt predict`` and ``hpt export`` for the best-ranked COMPLETE run.

    Args:
        frame: The selected runs (ranked as the report ranks them).
        label: The sweep, when the report ranks each sweep on its own.

    Returns:
        The section, or None when no run completed.
    """
    done = analysis.finished(frame)
    done = done[done["status"] == "COMPLETE"]
    if done.empty:
        return None
    best = rank_runs(done).iloc[0]
    run = _shown(str(best["run"]))
    objective = f"{best['objective']} = {fmt(best['value'])}" if best["objective"] else ""
    lines = [f"best: {best['name']}" + (f" ({objective})" if objective else "")]
    refit = _refit_of(best.get("sweep_dir"))
    if refit is not None:  # the sweep dir stands for its refit model (hpt.sweep.refit)
        run = _shown(str(best["sweep_dir"]))
        lines.append(f"the sweep's model: best/, trial #{refit}'s config refit on every row")
    lines += [
        "eval recomputes its test metrics; predict writes one row per input (INPUT: a table, "
        "an image or a folder of images); export writes TorchScript + model.json, for use "
        "without hpt",
    ]
    commands = [
        f"hpt eval {run}",
        f"hpt predict {run} INPUT -o predictions.csv",
        f"hpt export {run} -o model.pt",
    ]
    title = f"{TITLE} ({label})" if label else TITLE
    return Section(title, lines=lines, commands=commands)
