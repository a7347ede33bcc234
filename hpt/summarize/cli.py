"""``hpt summarize``: argument parsing and orchestration.

Only the standard library is imported at module level; pandas, rich, optuna and
matplotlib are imported when (and only if) the chosen path needs them, so ``--help`` and
argument errors are instant and the table path never imports optuna or torch.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

# The parser lives in its own module; its names stay importable from here.
from hpt.summarize.arguments import PROG, UsageError, build_parser

if TYPE_CHECKING:
    import pandas as pd

    from hpt.summarize.analysis import Importance
    from hpt.summarize.collect import Collection
    from hpt.summarize.importance import SharedImportance, StudyCache

_MAX_WARNINGS = 10
_EXPORTS = ("csv", "json", "parquet")


def _console(args: argparse.Namespace, file: Any = None) -> Any:
    from rich.console import Console

    plain = args.no_color or file is not None
    return Console(
        file=file,
        width=args.width or (120 if file is not None else None),
        color_system=None if plain else "auto",
        no_color=plain,
        highlight=False,
        emoji=False,
    )


def _warn(message: str) -> None:
    print(f"warning: {message}", file=sys.stderr)


def _print_warnings(warnings: list[str]) -> None:
    for line in warnings[:_MAX_WARNINGS]:
        _warn(line)
    if len(warnings) > _MAX_WARNINGS:
        _warn(f"... and {len(warnings) - _MAX_WARNINGS} more")


def _check_destinations(args: argparse.Namespace) -> None:
    """Refuse an --output that is a folder or in a missing folder (none is ever created), a
    --plots that is a file, and an empty --columns, before any work."""
    if args.output and Path(args.output).is_dir():
        raise UsageError(f"--output {args.output} is a directory: give a file name")
    parent = Path(args.output or ".").expanduser().absolute().parent
    if args.output and not parent.is_dir():  # hpt summarize makes no folders
        why = "is not a folder" if parent.exists() else "does not exist"
        raise UsageError(f"cannot write --output {args.output}: folder {parent} {why}")
    if args.columns is not None and not any(n.strip() for n in args.columns.split(",")):
        raise UsageError("--columns needs at least one key")
    if args.plots and Path(args.plots).exists() and not Path(args.plots).is_dir():
        raise UsageError(f"--plots {args.plots} is a file: give a directory")
    _refuse_records(args)
    if args.html:
        from hpt.summarize.html import HtmlUnavailable, require_plotly

        if Path(args.html).is_dir():
            raise UsageError(f"--html {args.html} is a directory: give a file name")
        try:
            require_plotly()
        except HtmlUnavailable as exc:
            raise UsageError(str(exc)) from None


def _refuse_records(args: argparse.Namespace) -> None:
    """Refuse an --output or --html over a run's or sweep's record (result.json, the study
    journal) or over one of the inputs, or both at one file."""
    from hpt.errors import UserError
    from hpt.outputs import refuse_record

    inputs = (*args.paths, *(args.diff or ()))
    try:
        for flag, path in (("--output", args.output), ("--html", args.html)):
            if path:
                refuse_record(path, flag, inputs)
    except UserError as exc:
        raise UsageError(str(exc)) from None
    if args.output and args.html and Path(args.output).absolute() == Path(args.html).absolute():
        raise UsageError(f"--output and --html are both {args.html}: give two files")


def _emit(args: argparse.Namespace, data: str | bytes) -> None:
    from hpt.summarize.export import write_output

    if args.output:
        try:
            write_output(args.output, data)
        except OSError as exc:  # a parent that is a file, no permission, a name too long
            raise UsageError(
                f"cannot write --output {args.output}: {exc.strerror or exc}"
            ) from None
        print(f"wrote {args.output}", file=sys.stderr)
    elif isinstance(data, bytes):
        raise UsageError(f"--format {args.format} is binary: give --output FILE")
    else:
        sys.stdout.write(data)


def _render(args: argparse.Namespace, sections: list[Any]) -> None:
    """Table/markdown output of report or diff sections, to stdout or --output."""
    import io

    from hpt.summarize.render import render_markdown, render_rich

    if args.format == "markdown":
        _emit(args, render_markdown(sections))
    elif args.output:
        buffer = io.StringIO()
        render_rich(sections, _console(args, buffer))
        _emit(args, buffer.getvalue())
    else:
        render_rich(sections, _console(args))


def _run_diff(args: argparse.Namespace) -> int:
    import json

    from hpt.summarize.diff import DiffError, diff_json, diff_sections, load_run

    if args.paths:
        raise UsageError("--diff takes exactly two run directories and no other PATH")
    if args.format in ("csv", "parquet"):
        raise UsageError("--diff supports --format table, markdown or json")
    try:
        a, b = (load_run(p) for p in args.diff)
    except DiffError as exc:
        raise UsageError(str(exc)) from None
    if args.format == "json":
        _emit(args, json.dumps(diff_json(a, b), indent=1, default=str) + "\n")
    else:
        _render(args, diff_sections(a, b, all_params=args.all_params))
    return 0


def _resolve_columns(text: str, frame: pd.DataFrame, objectives: list[str]) -> list[str]:
    from hpt.summarize.query import resolve_key

    names = [c.strip() for c in text.split(",") if c.strip()]
    if not names:
        raise UsageError("--columns needs at least one key")
    return list(dict.fromkeys(resolve_key(n, frame.columns, objectives) for n in names))


def _check_paths(paths: list[str]) -> None:
    """Refuse no PATH at all, and a PATH that is missing or not a directory."""
    if not paths:
        raise UsageError("give at least one PATH (a sweep dir, a run dir or a folder holding them)")
    for path in paths:
        if not Path(path).exists():
            raise UsageError(f"no such directory: {path}")
        if not Path(path).is_dir():
            raise UsageError(f"not a directory: {path}")


def _select(
    args: argparse.Namespace, collection: Collection
) -> tuple[pd.DataFrame, list[str] | None, str | None]:
    """The runs --where keeps, in --sort (else ranking) order; the --columns and --group-by."""
    from hpt.summarize.query import (
        QueryError,
        apply_where,
        parse_where,
        rank_runs,
        resolve_key,
        sort_runs,
    )

    frame = collection.frame
    objectives = list(collection.directions)
    try:
        conditions = [parse_where(e, frame.columns, objectives) for e in args.where]
        frame = apply_where(frame, conditions)
        if args.sort:
            frame = sort_runs(frame, args.sort, collection.directions, objectives)
        else:
            frame = rank_runs(frame)
        columns = _resolve_columns(args.columns, frame, objectives) if args.columns else None
        group = resolve_key(args.group_by, frame.columns, objectives) if args.group_by else None
    except QueryError as exc:
        raise UsageError(str(exc)) from None
    return frame, columns, group


def _export(args: argparse.Namespace, frame: pd.DataFrame, columns: list[str] | None) -> None:
    """--format csv/json/parquet: every column of the first --top runs (all when unset)."""
    from hpt.summarize import export

    out = frame if args.top in (None, 0) else frame.head(args.top)
    if columns:
        out = out[list(dict.fromkeys(["run", *columns]))]
    try:
        data: str | bytes
        if args.format == "parquet":
            data = export.to_parquet(out)
        else:
            data = export.to_csv(out) if args.format == "csv" else export.to_json(out)
    except export.ExportError as exc:
        raise UsageError(str(exc)) from None
    _emit(args, data)


def _report(
    args: argparse.Namespace,
    collection: Collection,
    frame: pd.DataFrame,
    query: tuple[list[str] | None, str | None],
    importance: SharedImportance,
) -> list[Any]:
    """The report's sections, for the terminal, markdown or the HTML page."""
    from hpt.summarize.report import ReportOptions, build_report

    columns, group = query
    options = ReportOptions(
        top=10 if args.top is None else args.top,
        sort=args.sort,
        columns=columns,
        group_by=group,
        all_params=args.all_params,
        filters=list(args.where),
    )
    return build_report(collection, frame, options, importance)


def _write_html(
    args: argparse.Namespace,
    collection: Collection,
    frame: pd.DataFrame,
    sections: list[Any],
    importance: Importance | None,
    studies: StudyCache,
) -> None:
    """--html FILE: the report's tables and charts in one page."""
    from hpt.summarize.html import write_html
    from hpt.summarize.importance import single_sweep

    try:
        write_html(
            args.html,
            collection,
            frame,
            sections,
            importance,
            study=studies.get(single_sweep(frame, collection)),
        )
    except OSError as exc:
        raise UsageError(f"cannot write --html {args.html}: {exc.strerror or exc}") from None
    print(f"wrote {args.html}", file=sys.stderr)


def _write_plots(
    args: argparse.Namespace,
    collection: Collection,
    frame: pd.DataFrame,
    importance: SharedImportance,
    studies: StudyCache,
) -> None:
    """--plots DIR: the PNG plots, each path printed (to stderr when stdout is an export)."""
    from hpt.summarize.importance import single_sweep
    from hpt.summarize.plots import write_plots

    study = studies.get(single_sweep(frame, collection))
    # The report's importance when it computed one, else one just for the plots.
    shown = importance.value if importance.value is not None else importance.compute(frame)
    try:
        paths = write_plots(
            args.plots, frame, collection.directions, shown, study=study, warn=_warn
        )
    except OSError as exc:
        raise UsageError(f"cannot write --plots {args.plots}: {exc.strerror or exc}") from None
    if not paths:
        _warn(f"--plots: nothing to draw into {args.plots} (no COMPLETE runs or metrics)")
    for path in paths:
        print(
            f"plot: {path}", file=sys.stderr if args.format not in (None, "table") else sys.stdout
        )


def _summarize(args: argparse.Namespace) -> int:
    """Read the runs under the PATHs and write what the arguments ask for."""
    from hpt.summarize.collect import collect_runs
    from hpt.summarize.importance import SharedImportance, StudyCache

    _check_paths(args.paths)
    collection = collect_runs(args.paths)
    _print_warnings(collection.warnings)
    if collection.frame.empty:
        print(f"{PROG}: no run directories found under {', '.join(args.paths)}", file=sys.stderr)
        return 1
    frame, columns, group = _select(args, collection)
    if frame.empty:
        print(f"{PROG}: no run matches {' and '.join(args.where)}", file=sys.stderr)
        return 1

    studies = StudyCache(enabled=not args.no_study, warn=_warn)
    importance = SharedImportance(collection, studies, filtered=bool(args.where), warn=_warn)
    exporting = args.format in _EXPORTS
    if exporting:
        _export(args, frame, columns)
    if not exporting or args.html:
        sections = _report(args, collection, frame, (columns, group), importance)
        if not exporting:
            _render(args, sections)
        if args.html:
            _write_html(args, collection, frame, sections, importance.value, studies)
    if args.plots:
        _write_plots(args, collection, frame, importance, studies)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``hpt summarize`` with ``argv`` (without the program name).

    Args:
        argv: Command-line arguments; ``sys.argv[1:]`` when None.

    Returns:
        The exit code: 0 success, 1 nothing to summarize, 2 bad arguments or paths.
    """
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        args = build_parser().parse_args(argv)
        if args.format is None:
            from hpt.summarize.export import format_for

            args.format = format_for(args.output) or "table"
        _check_destinations(args)
        if args.diff:
            return _run_diff(args)
        return _summarize(args)
    except UsageError as exc:
        print(f"{PROG}: error: {exc}", file=sys.stderr)
        return 2
    except SystemExit as exc:  # --help / --version
        return exc.code if isinstance(exc.code, int) else 0
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # `hpt summarize ... | head`: stop quietly, and keep Python's exit flush from failing.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 0
