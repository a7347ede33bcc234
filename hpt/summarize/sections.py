"""The report's tables across runs: the Pareto set, repeated seeds, ``--group-by``
marginals, importance and failures; and the column headers every table uses.

``hpt.summarize.report`` puts them in order.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import TYPE_CHECKING

from hpt.summarize import analysis
from hpt.summarize.columns import (
    OBJECTIVE_PREFIX,
    PARAM_PREFIX,
    varying_params,
    without_redundant_targets,
)
from hpt.summarize.query import primary_objective
from hpt.summarize.render import Column, Section, fmt

if TYPE_CHECKING:
    import pandas as pd

#: The arrow a header shows beside an objective's name.
ARROWS = {"maximize": "↑", "minimize": "↓"}


def header_name(column: str, directions: Mapping[str, str] | None = None) -> str:
    """Short header for a column: ``params.`` dropped, objectives get a direction arrow.

    Args:
        column: A frame column (``params.optimizer.lr``, ``objective.val/loss``,
            ``best.val/acc``, ...).
        directions: Objective name -> direction (for the arrow).

    Returns:
        The header text.
    """
    directions = directions or {}
    if column.startswith(PARAM_PREFIX):
        return column[len(PARAM_PREFIX) :]
    if column.startswith(OBJECTIVE_PREFIX):
        name = column[len(OBJECTIVE_PREFIX) :]
        return f"{name} {ARROWS.get(directions.get(name, ''), '')}".strip()
    section, _, metric = column.partition(".")
    if section == "test" and metric.startswith("test/"):
        return metric
    if section in ("best", "final", "test") and metric:
        return f"{section} {metric}"
    return column


def pareto_section(frame: pd.DataFrame, directions: Mapping[str, str]) -> Section | None:
    """The non-dominated COMPLETE runs of a multi-objective selection.

    Args:
        frame: The selected runs.
        directions: Objective name -> direction.

    Returns:
        The section, or None for a single-objective selection.
    """
    columns = analysis.objective_columns(frame)
    if len(columns) < 2:
        return None
    front = analysis.pareto_front(frame, directions)
    if front.empty:
        return Section("Pareto set", lines=["no COMPLETE run has every objective value"])
    first = columns[0]
    name = first[len(OBJECTIVE_PREFIX) :]
    ascending = directions.get(name) != "maximize"
    front = front.sort_values(first, ascending=ascending)
    params = varying_params(frame)
    table_columns = [
        Column("run"),
        *(Column(header_name(c, directions), right=True) for c in columns),
        *(Column(header_name(c), optional=True) for c in params),
    ]
    rows = [
        [str(row["name"]), *(fmt(row[c]) for c in columns), *(fmt(row[c]) for c in params)]
        for _, row in front.iterrows()
    ]
    return Section(
        f"Pareto set ({len(front)} non-dominated COMPLETE runs)", columns=table_columns, rows=rows
    )


def seeds_section(frame: pd.DataFrame) -> Section | None:
    """Mean ± std over repeated seeds of identical configs.

    Args:
        frame: The selected runs.

    Returns:
        The section, or None when no config ran with more than one seed.
    """
    varying = [c for c in varying_params(frame) if c != analysis.SEED_PARAM]
    distinguishing = without_redundant_targets(varying)
    groups = analysis.seed_groups(frame, distinguishing)
    if not groups:
        return None
    objective = primary_objective(frame) or "objective"
    rows = []
    for group in groups:
        config = ", ".join(f"{k}={fmt(v)}" for k, v in group.params.items()) or "(same config)"
        rows.append(
            [
                config,
                str(group.count),
                f"{fmt(group.mean)} ± {fmt(group.std)}",
                ", ".join(fmt(s) for s in group.seeds),
            ]
        )
    return Section(
        f"Repeated seeds ({objective}, mean ± std)",
        columns=[
            Column("config"),
            Column("n", right=True),
            Column(objective, right=True),
            Column("seeds"),
        ],
        rows=rows,
    )


def group_section(frame: pd.DataFrame, column: str) -> Section:
    """Marginal statistics of the objective per value of ``column``.

    Args:
        frame: The selected runs.
        column: The column to group by (``--group-by``, resolved).

    Returns:
        The section (with a note when no COMPLETE run has a finite objective).
    """
    objective = primary_objective(frame) or "objective"
    marginals = analysis.group_by(frame, column)
    rows = [[m.value, str(m.count), fmt(m.mean), fmt(m.std), fmt(m.best)] for m in marginals]
    return Section(
        f"{objective} by {header_name(column)} (COMPLETE runs)",
        columns=[
            Column(header_name(column)),
            Column("n", right=True),
            Column("mean", right=True),
            Column("std", right=True),
            Column("best", right=True),
        ],
        rows=rows,
        note=None if rows else "no COMPLETE run with a finite objective",
    )


def importance_section(importance: analysis.Importance) -> Section:
    """Importance table with a text bar per parameter and the method used.

    Args:
        importance: The computed importance.

    Returns:
        The section (the 20 most important parameters).
    """
    rows = []
    for name, value in list(importance.values.items())[:20]:
        bar = "█" * max(0, round(value * 20)) if math.isfinite(value) else ""
        rows.append([name, f"{value:.3f}", bar])
    note = f"method: {importance.method}"
    if importance.note:
        note += f"; {importance.note}"
    basis = importance.basis()
    if basis and basis.endswith("rough"):
        note += f"; only {importance.n} finished trials: a rough estimate"
    return Section(
        f"Hyperparameter importance ({basis})" if basis else "Hyperparameter importance",
        columns=[Column("param"), Column("importance", right=True), Column("")],
        rows=rows,
        lines=[] if rows else ["not enough data to estimate importance"],
        note=note,
    )


def failures_section(frame: pd.DataFrame) -> Section | None:
    """FAIL runs grouped by error kind and message.

    Args:
        frame: The selected runs.

    Returns:
        The section, or None when nothing failed.
    """
    groups = analysis.failure_groups(frame)
    if not groups:
        return None
    rows = []
    for group in groups:
        runs = ", ".join(group.runs[:3]) + (
            f" +{len(group.runs) - 3}" if len(group.runs) > 3 else ""
        )
        rows.append([group.kind, str(group.count), group.message, runs])
    return Section(
        f"Failures ({sum(g.count for g in groups)})",
        columns=[Column("kind"), Column("n", right=True), Column("message"), Column("runs")],
        rows=rows,
    )
