"""``hpt summarize``'s command line: the argument parser and its one-line usage errors.

Only the standard library is imported here (the output formats come from
``hpt.summarize.export`` when the parser is built), so ``--help`` and argument errors stay
instant.
"""

from __future__ import annotations

import argparse
from typing import NoReturn

PROG = "hpt summarize"

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
    """argparse, with errors raised as ``UsageError``."""

    def error(self, message: str) -> NoReturn:
        """Raise ``UsageError`` instead of printing the usage block and exiting.

        argparse would print the whole usage block; one readable line is the contract.

        Args:
            message: argparse's description of what is wrong.

        Raises:
            UsageError: Always; ``main`` prints it as one line and exits with 2.
        """
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
    """Build the ``hpt summarize`` argument parser.

    Returns:
        A parser whose ``error`` raises ``UsageError`` instead of printing the usage block.
    """
    parser = _Parser(
        prog=PROG,
        description="Summarize sweeps and runs: ranked table, state counts, best config, "
        "failures, importance, Pareto set, seed statistics, plots.",
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _add_selection_arguments(parser)
    _add_output_arguments(parser)
    _add_display_arguments(parser)
    return parser


def _add_selection_arguments(parser: argparse.ArgumentParser) -> None:
    """The runs to read and which of them to show, in what order, with what columns."""
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


def _add_output_arguments(parser: argparse.ArgumentParser) -> None:
    """Where the output goes and in which format; plots, the HTML report, --diff."""
    from hpt.summarize.export import FORMATS

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


def _add_display_arguments(parser: argparse.ArgumentParser) -> None:
    """How the terminal output looks, and whether the study storage is opened."""
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
