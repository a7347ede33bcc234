"""``hpt summarize``: argument parsing and orchestration.

Only the standard library is imported at module level; pandas, rich, optuna and
matplotlib are imported when (and only if) the chosen path needs them, so ``--help`` and
argument errors are instant and the table path never imports optuna or torch.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

if TYPE_CHECKING:
    import optuna
    import pandas as pd

    from hpt.summarize.analysis import Importance
    from hpt.summarize.collect import Collection, SweepInfo

PROG = "hpt summarize"
_MAX_WARNINGS = 10

_EPILOG = """\
keys (--where/--sort/--columns/--group-by) may be full column names (params.optimizer.lr,
best.val/loss, status), parameter names (optimizer.lr), metric names (val/acc), a unique
parameter suffix (lr) or a config group (optimizer -> optimizer.name or optimizer._target_).
--where compares numerically when both sides are numbers, else case-insensitively as text;
=/!= also match the last dotted part of a value (optimizer=adamw matches torch.optim.AdamW).
Several --where are ANDed. --sort KEY[:asc|:desc] (or --sort=-KEY); a bare objective sorts
best first. csv/json/parquet contain every column of every matching run (--top and
--columns restrict them). Exit codes: 0 ok, 1 no runs found, 2 bad arguments or paths.
"""


class UsageError(Exception):
    """Bad arguments or paths: printed as one line, exit code 2."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        # argparse would print the whole usage block; one readable line is the contract.
        raise UsageError(message)


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be >= 0, got {value}")
    return value


def build_parser() -> argparse.ArgumentParser:
    """The ``hpt summarize`` argument parser."""
    from hpt.summarize.export import FORMATS

    parser = _Parser(
        prog=PROG,
        description="Summarize sweeps and runs: ranked table, state counts, best config, "
        "failures, importance, Pareto set, seed statistics, plots.",
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "paths", nargs="*", metavar="PATH", help="sweep dirs, run dirs or folders holding them"
    )
    parser.add_argument(
        "--top",
        type=_positive_int,
        default=None,
        metavar="N",
        help="rows to show (default 10 in tables, all in exports; 0 = all)",
    )
    parser.add_argument(
        "--sort", metavar="KEY", help="order by KEY instead of the objective ranking"
    )
    parser.add_argument(
        "--where",
        action="append",
        default=[],
        metavar="EXPR",
        help="filter, e.g. 'val/acc>0.98', optimizer=adamw, status=COMPLETE (repeatable)",
    )
    parser.add_argument("--columns", metavar="A,B,C", help="columns of the runs table / export")
    parser.add_argument(
        "--group-by", metavar="PARAM", help="objective mean/std/count per value of PARAM"
    )
    parser.add_argument(
        "--format",
        choices=FORMATS,
        default=None,
        help="output format (default: table, or from --output's suffix)",
    )
    parser.add_argument(
        "--output", "-o", metavar="FILE", help="write the output to FILE (atomically)"
    )
    parser.add_argument(
        "--all-params", action="store_true", help="show every parameter, not only those that vary"
    )
    parser.add_argument("--plots", metavar="DIR", help="write PNG plots into DIR")
    parser.add_argument(
        "--html",
        metavar="FILE",
        help="write one self-contained HTML report (tables and interactive charts; "
        "opens offline; needs the report extra: plotly)",
    )
    parser.add_argument(
        "--diff", nargs=2, metavar=("RUN_A", "RUN_B"), help="compare two run directories"
    )
    parser.add_argument(
        "--no-color", action="store_true", help="plain output without colors or styles"
    )
    parser.add_argument(
        "--width",
        type=_positive_int,
        default=None,
        metavar="N",
        help="render tables N characters wide",
    )
    parser.add_argument(
        "--no-study",
        action="store_true",
        help="never open the study storage: table-based importance and plots (faster: "
        "skips importing optuna.importance, which pulls in scikit-learn when installed)",
    )
    return parser


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
    if args.html:
        from hpt.summarize.html import HtmlUnavailable, require_plotly

        if Path(args.html).is_dir():
            raise UsageError(f"--html {args.html} is a directory: give a file name")
        try:
            require_plotly()
        except HtmlUnavailable as exc:
            raise UsageError(str(exc)) from None


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


def _single_sweep(frame: pd.DataFrame, collection: Collection) -> SweepInfo | None:
    """The sweep every row belongs to, if there is exactly one."""
    dirs = set(frame["sweep_dir"].tolist())
    if len(dirs) != 1:
        return None
    only = next(iter(dirs))
    return collection.sweeps.get(only) if isinstance(only, str) else None


class _StudyCache:
    """Opens the sweep's study at most once, for importance and plots alike."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled
        self._loaded: dict[str, optuna.Study | None] = {}

    def get(self, sweep: SweepInfo | None) -> optuna.Study | None:
        from hpt.summarize.study import StudyUnavailable, has_storage, load_study

        if not self.enabled or sweep is None or not has_storage(sweep):
            return None
        key = str(sweep.path)
        if key not in self._loaded:
            try:
                self._loaded[key] = load_study(sweep)
            except StudyUnavailable as exc:
                _warn(f"{exc}; using the runs table instead")
                self._loaded[key] = None
        return self._loaded[key]


def _importance_fn(
    collection: Collection, studies: _StudyCache, filtered: bool
) -> Callable[[pd.DataFrame], Importance]:
    def compute(frame: pd.DataFrame) -> Importance:
        from hpt.summarize.analysis import table_importance
        from hpt.summarize.collect import varying_params, without_redundant_targets
        from hpt.summarize.query import primary_objective
        from hpt.summarize.study import StudyUnavailable, study_importance

        sweep = _single_sweep(frame, collection)
        study = studies.get(sweep)
        if study is not None and sweep is not None:
            objective = primary_objective(frame)
            index = sweep.objectives.index(objective) if objective in sweep.objectives else 0
            try:
                result = study_importance(study, index)
                if filtered:
                    result.note = "computed on the whole study (--where not applied)"
                return result
            except StudyUnavailable as exc:
                _warn(f"{exc}; using table-based importance")
        return table_importance(frame, without_redundant_targets(varying_params(frame)))

    return compute


def _resolve_columns(text: str, frame: pd.DataFrame, objectives: list[str]) -> list[str]:
    from hpt.summarize.query import resolve_key

    names = [c.strip() for c in text.split(",") if c.strip()]
    if not names:
        raise UsageError("--columns needs at least one key")
    return list(dict.fromkeys(resolve_key(n, frame.columns, objectives) for n in names))


def _summarize(args: argparse.Namespace) -> int:
    from hpt.summarize import export
    from hpt.summarize.collect import collect_runs
    from hpt.summarize.query import QueryError, apply_where, parse_where, rank_runs, sort_runs

    if not args.paths:
        raise UsageError("give at least one PATH (a sweep dir, a run dir or a folder holding them)")
    for path in args.paths:
        if not Path(path).exists():
            raise UsageError(f"no such directory: {path}")
        if not Path(path).is_dir():
            raise UsageError(f"not a directory: {path}")

    collection = collect_runs(args.paths)
    _print_warnings(collection.warnings)
    if collection.frame.empty:
        print(f"{PROG}: no run directories found under {', '.join(args.paths)}", file=sys.stderr)
        return 1
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
        group = None
        if args.group_by:
            from hpt.summarize.query import resolve_key

            group = resolve_key(args.group_by, frame.columns, objectives)
    except QueryError as exc:
        raise UsageError(str(exc)) from None
    if frame.empty:
        print(f"{PROG}: no run matches {' and '.join(args.where)}", file=sys.stderr)
        return 1

    studies = _StudyCache(enabled=not args.no_study)
    importance = _importance_fn(collection, studies, filtered=bool(args.where))
    fmt = args.format
    if fmt in ("csv", "json", "parquet"):
        out = frame if args.top in (None, 0) else frame.head(args.top)
        if columns:
            out = out[list(dict.fromkeys(["run", *columns]))]
        try:
            data: str | bytes
            if fmt == "parquet":
                data = export.to_parquet(out)
            else:
                data = export.to_csv(out) if fmt == "csv" else export.to_json(out)
        except export.ExportError as exc:
            raise UsageError(str(exc)) from None
        _emit(args, data)
    cache: dict[str, Importance] = {}

    def remembered(f: pd.DataFrame) -> Importance:
        if "value" not in cache:
            cache["value"] = importance(f)
        return cache["value"]

    sections: list[Any] | None = None
    if fmt not in ("csv", "json", "parquet") or args.html:
        from hpt.summarize.report import ReportOptions, build_report

        options = ReportOptions(
            top=10 if args.top is None else args.top,
            sort=args.sort,
            columns=columns,
            group_by=group,
            all_params=args.all_params,
            filters=list(args.where),
        )
        sections = build_report(collection, frame, options, remembered)
    if fmt not in ("csv", "json", "parquet") and sections is not None:
        _render(args, sections)
    computed = cache.get("value")

    if args.html and sections is not None:
        from hpt.summarize.html import write_html

        try:
            write_html(
                args.html,
                collection,
                frame,
                sections,
                computed,
                study=studies.get(_single_sweep(frame, collection)),
            )
        except OSError as exc:
            raise UsageError(f"cannot write --html {args.html}: {exc.strerror or exc}") from None
        print(f"wrote {args.html}", file=sys.stderr)

    if args.plots:
        from hpt.summarize.plots import write_plots

        study = studies.get(_single_sweep(frame, collection))
        try:
            paths = write_plots(
                args.plots,
                frame,
                collection.directions,
                computed if computed is not None else importance(frame),
                study=study,
                warn=_warn,
            )
        except OSError as exc:
            raise UsageError(f"cannot write --plots {args.plots}: {exc.strerror or exc}") from None
        if not paths:
            _warn(f"--plots: nothing to draw into {args.plots} (no COMPLETE runs or metrics)")
        for path in paths:
            print(f"plot: {path}", file=sys.stderr if fmt not in (None, "table") else sys.stdout)
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
