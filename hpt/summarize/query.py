"""Resolve short keys, filter (``--where``) and order (``--sort``, ranking) the runs table.

Key resolution (first rule that matches wins):

1. an exact column name (``status``, ``value``, ``params.optimizer.lr``, ``best.val/acc``);
2. a full parameter name (``optimizer.lr`` -> ``params.optimizer.lr``);
3. an objective name (``val/acc`` -> its objective value);
4. a unique parameter-name suffix (``lr`` -> ``params.optimizer.lr``);
5. a metric name: ``best.<name>``, ``test.<name>``, ``final.<name>`` (an ambiguous
   parameter suffix that is no metric is an error listing the candidates);
6. a config group (``optimizer`` -> ``params.optimizer.name``, else ``params.optimizer._target_``).

Comparisons: numeric when both sides parse as numbers, otherwise as case-insensitive
strings. For ``=``/``!=`` a string value also matches the last dotted component of the
cell, so ``optimizer=adamw`` matches ``torch.optim.AdamW`` as well as a choice ``adamw``
(whole components only: ``adam`` does not match ``adamw``). A missing cell satisfies only
``!=``.
"""

from __future__ import annotations

import difflib
import math
import operator
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from hpt.summarize.columns import METRIC_SECTIONS, OBJECTIVE_PREFIX, PARAM_PREFIX

if TYPE_CHECKING:
    import pandas as pd

#: Statuses ordered for ranking: finished runs first, broken ones last.
STATUS_ORDER = {
    "COMPLETE": 0,
    "PRUNED": 1,
    "RUNNING": 2,
    "FAIL": 3,
    "RETRIED": 4,
    "UNKNOWN": 5,
    "CORRUPT": 6,
}

_EXPR = re.compile(r"^\s*(?P<key>[^<>=!]+?)\s*(?P<op>!=|>=|<=|==|=|>|<)\s*(?P<value>.*?)\s*$")
_OPS: dict[str, Callable[[Any, Any], bool]] = {
    "=": operator.eq,
    "==": operator.eq,
    "!=": operator.ne,
    ">": operator.gt,
    ">=": operator.ge,
    "<": operator.lt,
    "<=": operator.le,
}


class QueryError(ValueError):
    """A key or expression the user gave cannot be understood (reported as exit code 2)."""


def resolve_key(key: str, columns: Iterable[str], objective_names: Iterable[str] = ()) -> str:
    """Map a user-facing key to a column of the runs frame.

    Args:
        key: What the user typed (``lr``, ``optimizer.lr``, ``val/acc``, ``status``...).
        columns: The frame's columns.
        objective_names: Names of the objectives (``val/acc``...), whose value columns are
            ``value`` (single objective) or ``objective.<name>`` (multi-objective).

    Returns:
        The column name.

    Raises:
        QueryError: Unknown or ambiguous key (the message lists candidates).
    """
    cols = list(columns)
    colset = set(cols)
    key = key.strip()
    if key in colset:
        return key
    if PARAM_PREFIX + key in colset:
        return PARAM_PREFIX + key
    if OBJECTIVE_PREFIX + key in colset:
        return OBJECTIVE_PREFIX + key
    if key in set(objective_names):
        return "value"
    params = [c for c in cols if c.startswith(PARAM_PREFIX)]
    suffix = [c for c in params if c.endswith("." + key)]
    if len(suffix) == 1:
        return suffix[0]
    for section in METRIC_SECTIONS:
        if f"{section}.{key}" in colset:
            return f"{section}.{key}"
    if len(suffix) > 1:
        names = ", ".join(c[len(PARAM_PREFIX) :] for c in suffix)
        raise QueryError(f"ambiguous key {key!r}: could be {names}")
    for leaf in ("name", "_target_"):
        if f"{PARAM_PREFIX}{key}.{leaf}" in colset:
            return f"{PARAM_PREFIX}{key}.{leaf}"
    short = [c[len(PARAM_PREFIX) :] if c.startswith(PARAM_PREFIX) else c for c in cols]
    close = difflib.get_close_matches(key, short, n=3, cutoff=0.6)
    hint = f" (did you mean {', '.join(close)}?)" if close else ""
    raise QueryError(f"unknown key {key!r}{hint}")


def _number(value: Any) -> float | None:
    if hasattr(value, "item") and not isinstance(value, str):  # numpy scalars
        value = value.item()
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return None
    return None


def is_missing(value: Any) -> bool:
    """None or a float NaN (pandas' missing marker) - not the string "nan".

    Args:
        value: A cell.

    Returns:
        True when the cell holds no value.
    """
    return value is None or (isinstance(value, float) and math.isnan(value))


@dataclass(frozen=True)
class Condition:
    """One parsed ``--where`` expression."""

    key: str
    column: str
    op: str
    value: str

    def matches(self, cell: Any) -> bool:
        """Whether one cell satisfies the condition (see the module docstring).

        Args:
            cell: The cell of the condition's column in one run.

        Returns:
            True when it satisfies the condition; a missing cell satisfies only ``!=``.
        """
        if is_missing(cell) or (isinstance(cell, str) and cell == ""):
            return self.op == "!="
        compare = _OPS[self.op]
        left, right = _number(cell), _number(self.value)
        if left is not None and right is not None:
            return bool(compare(left, right))
        text, wanted = str(cell).lower(), self.value.lower()
        if self.op in ("=", "==", "!="):
            # The last dotted component lets a choice name match a class path.
            equal = text == wanted or text.rsplit(".", 1)[-1] == wanted
            return equal if self.op != "!=" else not equal
        return bool(compare(text, wanted))


def parse_where(
    expr: str, columns: Iterable[str], objective_names: Iterable[str] = ()
) -> Condition:
    """Parse ``KEY OP VALUE`` (``OP`` in ``= == != > >= < <=``).

    Args:
        expr: One ``--where`` expression.
        columns: The frame's columns.
        objective_names: The objectives' names (see ``resolve_key``).

    Returns:
        The condition, its key resolved to a column.

    Raises:
        QueryError: No operator, empty key, or a key that does not resolve.
    """
    match = _EXPR.match(expr)
    if not match or not match["key"].strip():
        raise QueryError(
            f"cannot parse --where {expr!r}: expected KEY OP VALUE, OP one of = != > >= < <="
        )
    column = resolve_key(match["key"], columns, objective_names)
    return Condition(match["key"].strip(), column, match["op"], match["value"])


def apply_where(frame: pd.DataFrame, conditions: Iterable[Condition]) -> pd.DataFrame:
    """Rows matching every condition (all of them: the expressions are ANDed).

    Args:
        frame: The runs.
        conditions: Parsed ``--where`` expressions.

    Returns:
        The matching rows, in their order.
    """
    mask = [True] * len(frame)
    for cond in conditions:
        cells = frame[cond.column].tolist()
        mask = [m and cond.matches(c) for m, c in zip(mask, cells)]
    return frame[mask]


def score(value: Any, direction: Any) -> float:
    """Larger is better: the objective value, negated for ``minimize``; NaN stays NaN.

    Args:
        value: An objective value (a number or numeric text).
        direction: ``maximize`` or ``minimize``.

    Returns:
        The score (NaN when the value is missing or not a number).
    """
    number = _number(value)
    if number is None or math.isnan(number):
        return math.nan
    return -number if direction == "minimize" else number


def primary_objective(frame: pd.DataFrame) -> str | None:
    """The most common objective name among the runs.

    Args:
        frame: The runs.

    Returns:
        The name, or None when no run has one.
    """
    counts = frame["objective"].dropna().value_counts()
    return str(counts.index[0]) if len(counts) else None


def rank_runs(frame: pd.DataFrame, *, by_status: bool = True) -> pd.DataFrame:
    """Best first: COMPLETE before others, the primary objective before others, then value.

    Each row is scored in its own direction, so maximize and minimize runs both rank right.

    Args:
        frame: The runs.
        by_status: Put COMPLETE runs before PRUNED/FAIL/... ones (the default ranking);
            False orders purely by objective value.
    """
    if frame.empty:
        return frame
    primary = primary_objective(frame)
    # a tie on the value goes to the lower validation loss, as the sweep chooses (hpt.selection)
    losses = frame["best.val/loss"] if "best.val/loss" in frame.columns else [math.nan] * len(frame)
    keys = []
    for status, objective, value, direction, loss in zip(
        frame["status"], frame["objective"], frame["value"], frame["direction"], losses
    ):
        s = score(value, direction)
        loss = _number(loss)
        loss = math.inf if loss is None or math.isnan(loss) else loss
        keys.append(
            (
                STATUS_ORDER.get(status, 9) if by_status else 0,
                0 if objective == primary else 1,
                1 if math.isnan(s) else 0,
                -s if not math.isnan(s) else 0.0,
                loss,
            )
        )
    order = sorted(range(len(keys)), key=keys.__getitem__)
    return frame.iloc[order]


def sort_runs(
    frame: pd.DataFrame,
    spec: str,
    directions: Mapping[str, str],
    objective_names: Iterable[str] = (),
) -> pd.DataFrame:
    """Order by ``--sort``: ``KEY``, ``KEY:asc``, ``KEY:desc`` or ``-KEY`` (descending).

    A bare objective key follows the objective's direction (best first); any other bare
    key sorts ascending. Missing values go last.

    Args:
        frame: The runs.
        spec: The ``--sort`` value.
        directions: Objective name -> direction.
        objective_names: The objectives' names (see ``resolve_key``).

    Returns:
        The runs in the new order.

    Raises:
        QueryError: The key does not resolve or the order suffix is unknown.
    """
    text = spec.strip()
    descending: bool | None = None
    if text.startswith("-"):
        text, descending = text[1:], True
    elif ":" in text and text.rsplit(":", 1)[1].lower() in ("asc", "desc"):
        text, suffix = text.rsplit(":", 1)
        descending = suffix.lower() == "desc"
    column = resolve_key(text, frame.columns, objective_names)
    if descending is None:
        if column == "value":
            # Best first in each row's own direction.
            return rank_runs(frame, by_status=False)
        name = _objective_of(column)
        descending = directions.get(name or "", "minimize") == "maximize" if name else False
    values = frame[column].tolist()
    numeric = [_number(v) for v in values]
    use_numbers = all(n is not None or is_missing(v) for n, v in zip(numeric, values))

    def key(i: int) -> Any:
        return numeric[i] if use_numbers else str(values[i]).lower()

    present = [i for i, v in enumerate(values) if not is_missing(v)]
    missing = [i for i, v in enumerate(values) if is_missing(v)]
    # sorted(reverse=True) keeps ties in their previous (ranked) order.
    order = sorted(present, key=key, reverse=bool(descending)) + missing
    return frame.iloc[order]


def _objective_of(column: str) -> str | None:
    if column.startswith(OBJECTIVE_PREFIX):
        return column[len(OBJECTIVE_PREFIX) :]
    for section in METRIC_SECTIONS:
        if column.startswith(section + "."):
            return column[len(section) + 1 :]
    return None
