"""The runs frame's vocabulary, and which of its parameter columns vary or were searched.

The states a run is listed with, the column prefixes (``params.``, ``objective.``, the
metric sections) and the questions every view asks of the ``params.*`` columns: which vary
across the runs, which the sweep searched, which only repeat another (an interpolated
setting). ``hpt.summarize.collect`` builds the frame; its names are importable from there
too.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from hpt.rundir import STATUSES

if TYPE_CHECKING:
    import pandas as pd

#: States a run can be listed with besides the contract's statuses.
CORRUPT = "CORRUPT"  # result.json exists but is truncated, garbage or not an object
UNKNOWN = "UNKNOWN"  # no readable result yet (only a manifest, or an empty trial dir)
# A trial whose worker died or was interrupted and whose params were queued again: a later
# trial of the same sweep ran them (its result.json says FAIL with one of these kinds).
RETRIED = "RETRIED"
RETRY_KINDS = frozenset({"interrupted", "worker_died"})
ALL_STATES = (*STATUSES, RETRIED, CORRUPT, UNKNOWN)

PARAM_PREFIX = "params."
#: ``frame.attrs`` keys: the parameter names the frame's sweeps searched (their search
#: spaces), and those of them searched on a log scale (``tag(log, ...)``).
SEARCHED = "hpt_searched"
SEARCHED_LOG = "hpt_searched_log"
OBJECTIVE_PREFIX = "objective."
METRIC_SECTIONS = ("best", "final", "test")

#: Columns every frame has, in display order (params and metrics follow).
BASE_COLUMNS = (
    "run",
    "name",
    "sweep",
    "trial",
    "status",
    "objective",
    "value",
    "se",
    "direction",
    "epochs",
    "duration_s",
    "n_params",
    "error_kind",
    "error",
    "sweep_dir",
)


def param_columns(frame: pd.DataFrame) -> list[str]:
    """All ``params.*`` columns of ``frame``.

    Args:
        frame: Runs, one per row.

    Returns:
        The column names, in the frame's order.
    """
    return [c for c in frame.columns if c.startswith(PARAM_PREFIX)]


def value_key(value: Any) -> str:
    """A hashable identity for a cell: 128 and 128.0 are equal, NaN/None are "missing".

    Args:
        value: A cell of the frame (numpy scalars included).

    Returns:
        Text that is equal for cells that mean the same value.
    """
    if hasattr(value, "item") and not isinstance(value, str):  # numpy scalars from a Series
        value = value.item()
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "∅"
    if isinstance(value, int | float) and not isinstance(value, bool):
        return repr(float(value))
    return repr(value)


def readable(frame: pd.DataFrame) -> pd.DataFrame:
    """Rows whose result.json was read (CORRUPT/UNKNOWN rows have no params).

    Args:
        frame: Runs, one per row.

    Returns:
        The rows in any other state.
    """
    return frame[~frame["status"].isin((CORRUPT, UNKNOWN))]


def searched_names(frame: pd.DataFrame) -> set[str]:
    """The parameter names the frame's sweeps searched (empty for standalone runs).

    Args:
        frame: Runs as ``collect_runs`` made them (the names travel in ``frame.attrs``).

    Returns:
        The names, without the ``params.`` prefix.
    """
    return set(frame.attrs.get(SEARCHED, ()))


def log_searched(frame: pd.DataFrame) -> set[str] | None:
    """``params.*`` columns searched on a log scale.

    Args:
        frame: Runs as ``collect_runs`` made them.

    Returns:
        The columns, or None when no search space is known.
    """
    if not frame.attrs.get(SEARCHED):
        return None
    return {PARAM_PREFIX + name for name in frame.attrs.get(SEARCHED_LOG, ())}


def is_searched(column: str, searched: set[str]) -> bool:
    """Whether ``params.X`` was searched: by name, or by group (``optimizer`` -> ``.name``).

    Args:
        column: A ``params.*`` column or a bare parameter name.
        searched: The searched parameter names (``searched_names``).

    Returns:
        True when the parameter, or the config group it names the choice of, was searched.
    """
    name = column[len(PARAM_PREFIX) :] if column.startswith(PARAM_PREFIX) else column
    group, _, leaf = name.rpartition(".")
    return name in searched or (leaf in ("name", "_target_") and group in searched)


def _varying_and_twins(frame: pd.DataFrame) -> tuple[list[str], set[str]]:
    rows = readable(frame)
    searched = searched_names(frame)
    out: list[str] = []
    twins: set[str] = set()
    first: dict[tuple[str, ...], int] = {}  # the values of a column -> its index in out
    for column in param_columns(rows):
        keys = tuple(value_key(v) for v in rows[column].tolist())
        if len(set(keys)) < 2:
            continue
        i = first.get(keys)
        # An interpolated setting (model.dropout: ${regularization.dropout}) has exactly its
        # source's values in every run: show it once, under the searched name.
        if i is not None and not (is_searched(column, searched) and is_searched(out[i], searched)):
            if is_searched(column, searched) and not is_searched(out[i], searched):
                out[i], column = column, out[i]
            twins.add(column)
            continue
        first[keys] = len(out)
        out.append(column)
    return out, twins


def varying_params(frame: pd.DataFrame) -> list[str]:
    """``params.*`` columns not identical across the readable rows, each twin shown once.

    A param missing from some runs but set in others varies too; CORRUPT/UNKNOWN rows
    (which have no params at all) are ignored. Of columns with the same value in every run
    (one interpolated from the other) only one is listed: the searched one if either is.

    Args:
        frame: Runs, one per row.

    Returns:
        The varying columns, in the frame's order.
    """
    return _varying_and_twins(frame)[0]


def tuned_params(frame: pd.DataFrame) -> list[str]:
    """The settings a plot's axes show.

    The varying searched ones when the sweep says which (settings that only follow a
    choice, like SGD's dampening, would crowd them out), else every varying one;
    ``X._target_`` beside ``X.name`` left out.

    Args:
        frame: Runs as ``collect_runs`` made them.

    Returns:
        ``params.*`` columns, in the frame's order.
    """
    params = without_redundant_targets(varying_params(frame))
    searched = searched_names(frame)
    chosen = [p for p in params if is_searched(p, searched)]
    return chosen or params


def twin_params(frame: pd.DataFrame) -> set[str]:
    """The ``params.*`` columns ``varying_params`` hides as twins of another column.

    Args:
        frame: Runs, one per row.

    Returns:
        The hidden columns.
    """
    return _varying_and_twins(frame)[1]


def without_redundant_targets(columns: list[str]) -> list[str]:
    """Drop ``X._target_`` when ``X.name`` is also listed: the class path repeats the choice.

    Args:
        columns: ``params.*`` column names.

    Returns:
        The same names in the same order, less the redundant ``_target_`` ones.
    """
    names = set(columns)
    return [
        c
        for c in columns
        if not (c.endswith("._target_") and c[: -len("_target_")] + "name" in names)
    ]
