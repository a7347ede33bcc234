"""Build the summary report (a list of sections) from the collected runs."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from hpt.summarize import analysis

# The sections live in their own modules; their names stay importable from here.
from hpt.summarize.best import best_config_section
from hpt.summarize.collect import Collection
from hpt.summarize.columns import (
    OBJECTIVE_PREFIX,
    PARAM_PREFIX,
    is_searched,
    searched_names,
    varying_params,
    without_redundant_targets,
)
from hpt.summarize.mixed import is_mixed, per_sweep, sweep_labels
from hpt.summarize.query import is_missing, primary_objective, rank_runs
from hpt.summarize.render import Column, Section, fmt, fmt_duration
from hpt.summarize.sections import (
    ARROWS,
    failures_section,
    group_section,
    header_name,
    importance_section,
    pareto_section,
    seeds_section,
)
from hpt.summarize.use import use_best_section

if TYPE_CHECKING:
    import pandas as pd


@dataclass
class ReportOptions:
    """What the user asked for (already resolved to column names).

    Attributes:
        top: Rows in the top-runs table (0 = all).
        sort: The ``--sort`` spec as given (only used for the table title).
        columns: Explicit columns for the top-runs table (None = default set).
        group_by: Column to show marginal statistics for.
        all_params: Show every parameter column, not only those that vary.
        filters: The ``--where`` expressions as given (shown in the header).
        searched: Parameter names in the sweeps' search spaces (shown first).
    """

    top: int = 10
    sort: str | None = None
    columns: list[str] | None = None
    group_by: str | None = None
    all_params: bool = False
    filters: list[str] = field(default_factory=list)
    searched: set[str] = field(default_factory=set)


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def _cell(column: str, value: Any, row: Any = None) -> str:
    if column == "duration_s":
        return fmt_duration(value)
    se = row.get("se") if row is not None and column == "value" else None
    if isinstance(se, float) and math.isfinite(se) and not is_missing(value):
        return f"{fmt(value)} ± {fmt(se)}"  # the objective's standard error (hpt.selection)
    return fmt(value)


def _is_numeric(series: pd.Series) -> bool:
    import pandas as pd

    return bool(pd.api.types.is_numeric_dtype(series.dtype)) and series.dtype != bool


def _objective_columns(frame: pd.DataFrame) -> list[str]:
    multi = analysis.objective_columns(frame)
    return multi if multi else ["value"]


def _default_columns(frame: pd.DataFrame, all_params: bool) -> tuple[list[str], list[str]]:
    """(fixed columns, optional param columns) of the top-runs table."""
    fixed = ["status", *_objective_columns(frame)]
    objective = primary_objective(frame)
    if objective and objective.startswith("val/"):
        test = "test.test/" + objective[len("val/") :]
        if test in frame.columns and frame[test].notna().any():
            fixed.append(test)
    if all_params:
        return fixed, [c for c in frame.columns if c.startswith(PARAM_PREFIX)]
    return fixed, _informative(frame, without_redundant_targets(varying_params(frame)))


def _informative(frame: pd.DataFrame, params: list[str]) -> list[str]:
    """The searched params, and the others that take two values: AdamW's ``betas`` and
    ``eps`` vary only in being missing from the SGD trials, and say nothing there."""
    searched = searched_names(frame)
    kept = []
    for column in params:
        values = {fmt(v) for v in frame[column].tolist() if not is_missing(v)}
        if is_searched(column, searched) or len(values) > 1:
            kept.append(column)
    return kept


def _priority(column: str, searched: set[str]) -> int:
    """Which optional column a narrow terminal keeps first (lower = kept longer).

    Searched params come first (they are what the sweep tuned), then the test metric,
    epochs and time, then other varying params, and ``_target_`` class paths last.
    """
    if not column.startswith(PARAM_PREFIX):
        return {"epochs": 60, "duration_s": 61}.get(column, 50)
    name = column[len(PARAM_PREFIX) :]
    group, _, leaf = name.rpartition(".")
    if leaf == "_target_":
        return 200
    return 10 if name in searched or (leaf == "name" and group in searched) else 100


def top_runs_section(
    frame: pd.DataFrame,
    options: ReportOptions,
    directions: Mapping[str, str],
    label: str | None = None,
) -> Section:
    """The ranked (or ``--sort``-ed) runs table, ``options.top`` rows.

    Args:
        frame: The selected runs, in display order.
        options: What the user asked for (rows, columns, sort, searched names).
        directions: Objective name -> direction (for the headers' arrows).
        label: The sweep these runs are (its folder), when the summary ranks per sweep.

    Returns:
        The table; columns a narrow terminal can drop are marked optional.
    """
    shown = frame if options.top <= 0 else frame.head(options.top)
    objective = primary_objective(frame)
    direction = directions.get(objective or "", "")
    optional: list[str]
    if options.columns:
        fixed, optional = list(options.columns), []
    else:
        fixed, params = _default_columns(frame, options.all_params)
        required = ["status", *_objective_columns(frame)]
        optional = [c for c in fixed if c not in required] + params + ["epochs", "duration_s"]
        fixed = required
    order = [*fixed, *optional]
    columns = [Column("#", right=True), Column("run")]
    for name in order:
        header = header_name(name, directions)
        if name == "value":
            header = f"{objective or 'objective'} {ARROWS.get(direction, '')}".strip()
        elif name == "duration_s":
            header = "time"
        columns.append(
            Column(
                header,
                right=_is_numeric(frame[name]),
                optional=name in optional,
                priority=_priority(name, options.searched),
            )
        )
    rows = []
    for rank, (_, row) in enumerate(shown.iterrows(), start=1):
        rows.append([str(rank), str(row["name"]), *(_cell(c, row[c], row) for c in order)])
    how = f"sorted by {options.sort}" if options.sort else f"ranked by {objective or 'objective'}"
    count = len(shown)
    title = (
        f"Top {count} of {len(frame)} runs, {how}"
        if count < len(frame)
        else f"{_plural(len(frame), 'run')}, {how}"
    )
    return Section(f"{label}: {title}" if label else title, columns=columns, rows=rows)


def summary_section(collection: Collection, frame: pd.DataFrame, options: ReportOptions) -> Section:
    """Header: how many runs/sweeps, state counts, objective, filters; per-sweep counts.

    Args:
        collection: Everything collected (all runs, sweep names, directions).
        frame: The selected runs.
        options: What the user asked for (the filters are shown).

    Returns:
        The section; with a per-sweep table when the runs come from several sweeps.
    """
    counts = analysis.state_counts(frame)
    sweeps = sorted({s for s in frame["sweep_dir"].tolist() if isinstance(s, str)})
    standalone = int(frame["sweep_dir"].isna().sum())
    where = f"{len(sweeps)} sweep(s)" + (
        f" + {standalone} standalone run(s)" if sweeps and standalone else ""
    )
    lines = [
        _plural(len(frame), "run")
        + (f" of {len(collection.frame)}" if len(frame) != len(collection.frame) else "")
        + (f" in {where}" if sweeps else ""),
        "  ".join(f"{state} {n}" for state, n in counts.items()),
    ]
    objectives = sorted({str(o) for o in frame["objective"].dropna().tolist()})
    if objectives:
        described = [f"{o} ({collection.directions.get(o, '?')})" for o in objectives]
        lines.append("objective: " + ", ".join(described))
    multi = [c[len(OBJECTIVE_PREFIX) :] for c in analysis.objective_columns(frame)]
    if multi:
        lines.append(
            "objectives: " + ", ".join(f"{o} ({collection.directions.get(o, '?')})" for o in multi)
        )
    if options.filters:
        lines.append("where: " + " and ".join(options.filters))
    section = Section("Summary", lines=lines)
    if len(sweeps) > 1:
        _per_sweep_rows(section, frame, collection.directions, counts)
    return section


def _per_sweep_rows(
    section: Section, frame: pd.DataFrame, directions: Mapping[str, str], counts: Mapping
) -> None:
    """One row per sweep, labelled by its folder, with its best value in the column of its
    objective: every ``best`` header names the metric and its direction."""
    labels = sweep_labels(frame["sweep_dir"].dropna().tolist())
    objectives = sorted({str(o) for o in frame["objective"].dropna().tolist()})
    section.columns = [
        Column("sweep"),
        Column("runs", right=True),
        *(Column(s, right=True) for s in counts),
        *(
            Column(f"best {o} {ARROWS.get(directions.get(o, ''), '')}".strip(), right=True)
            for o in objectives
        ),
    ]
    for sweep_dir in sorted(labels, key=labels.__getitem__):
        sub = frame[frame["sweep_dir"] == sweep_dir]
        sub_counts = analysis.state_counts(sub)
        best = rank_runs(analysis.finished(sub))
        bests = [
            fmt(best["value"].iloc[0]) if len(best) and best["objective"].iloc[0] == o else "-"
            for o in objectives
        ]
        section.rows.append(
            [labels[sweep_dir], str(len(sub)), *(str(sub_counts.get(s, 0)) for s in counts), *bests]
        )


def _ranked_sections(
    collection: Collection, frame: pd.DataFrame, options: ReportOptions
) -> tuple[list[Section | None], list[Section | None]]:
    """The ranked table and the best config, then the closing "use the best model" block:
    once, or per sweep when the sweeps differ in their data or objective (one ranking would
    mix values on different scales)."""
    if not is_mixed(frame):
        return [
            top_runs_section(frame, options, collection.directions),
            best_config_section(collection, frame),
        ], [use_best_section(frame)]
    sections: list[Section | None] = []
    closing: list[Section | None] = []
    for label, sub in per_sweep(frame):
        sections.append(top_runs_section(sub, options, collection.directions, label))
        sections.append(best_config_section(collection, sub))
        closing.append(use_best_section(sub, label))
    return sections, closing


def build_report(
    collection: Collection,
    frame: pd.DataFrame,
    options: ReportOptions,
    importance: Callable[[pd.DataFrame], analysis.Importance | None] | None = None,
) -> list[Section]:
    """All report sections for the (filtered, ordered) runs.

    Args:
        collection: Everything collected (for sweep metadata and defaults).
        frame: The runs to report, already filtered and in display order.
        options: Report options.
        importance: Computes importance for ``frame`` (None skips the section).

    Returns:
        Sections in display order; sections with nothing to say are left out.
    """
    directions = collection.directions
    if not options.searched:
        for sweep_dir in set(frame["sweep_dir"].dropna().tolist()):
            if sweep_dir in collection.sweeps:
                options.searched |= set(collection.sweeps[sweep_dir].search_space)
    mixed = is_mixed(frame)
    summary = summary_section(collection, frame, options)
    if mixed:
        summary.lines.append(
            "the sweeps differ in their data or objective: each is ranked on its own"
        )
    ranked, closing = _ranked_sections(collection, frame, options)
    sections: list[Section | None] = [
        summary,
        ranked[0],
        pareto_section(frame, directions),
        seeds_section(frame),
        group_section(frame, options.group_by) if options.group_by else None,
        *ranked[1:],
    ]
    if importance is not None and not mixed:  # importance across different problems: none
        result = importance(frame)
        if result is not None:
            sections.append(importance_section(result))
    sections += [failures_section(frame), *closing]
    return [s for s in sections if s is not None]
