"""Several sweeps in one summary: each labelled by its folder, and ranked on its own when they
do not answer the same question (other data, or another objective).

Trials of an MNIST sweep and of a table sweep cannot share one ranking: their objective values
are on different scales, or not even the same metric. Study names do not tell sweeps apart
either (every ``search=tpe`` sweep's study is ``tpe``); their folders do.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

from hpt.summarize.columns import PARAM_PREFIX

if TYPE_CHECKING:
    import pandas as pd

# What a run was trained on, beside the objective it is judged by.
_DATA = tuple(f"{PARAM_PREFIX}data.{key}" for key in ("name", "path", "root", "test_path"))
STANDALONE = "runs outside a sweep"


def sweep_labels(sweep_dirs: Iterable[str]) -> dict[str, str]:
    """Each sweep dir's label: its folder's name, with as many parents as tell it apart.

    Args:
        sweep_dirs: Sweep directories (paths as strings).

    Returns:
        Sweep dir -> label (``tpe-mnist-3f9a1c2b``; ``a/tpe`` beside ``b/tpe``).
    """
    dirs = sorted(set(sweep_dirs))
    depth = 1
    while True:
        labels = {d: "/".join(Path(d).parts[-depth:]) for d in dirs}
        if len(set(labels.values())) == len(dirs) or depth > 8:
            return labels
        depth += 1


def problem_key(frame: pd.DataFrame) -> pd.Series:
    """One text per run naming its objective and its data.

    Args:
        frame: The runs.

    Returns:
        The keys, indexed as ``frame``.
    """
    parts = [frame["objective"].astype(str)]
    parts += [frame[c].astype(str) for c in _DATA if c in frame.columns]
    key = parts[0]
    for part in parts[1:]:
        key = key + "|" + part
    return key


def is_mixed(frame: pd.DataFrame) -> bool:
    """Whether the runs come from several sweeps (or loose runs) that differ in their data or
    their objective, so that one ranking would mix incomparable values.

    Args:
        frame: The selected runs.

    Returns:
        True when they must be ranked per sweep.
    """
    groups = frame["sweep_dir"].fillna(STANDALONE)
    if groups.nunique() < 2:
        return False
    return bool(problem_key(frame).nunique() > 1)


def per_sweep(frame: pd.DataFrame) -> list[tuple[str, pd.DataFrame]]:
    """The runs split by sweep, labelled by folder, loose runs last.

    Args:
        frame: The selected runs, in display order.

    Returns:
        (label, that sweep's runs in the same order) pairs.
    """
    dirs = [d for d in frame["sweep_dir"].dropna().unique().tolist() if isinstance(d, str)]
    labels = sweep_labels(dirs)
    groups = [
        (labels[d], frame[frame["sweep_dir"] == d]) for d in sorted(dirs, key=labels.__getitem__)
    ]
    loose = frame[frame["sweep_dir"].isna()]
    return groups + ([(STANDALONE, loose)] if len(loose) else [])
