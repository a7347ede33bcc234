"""Running Hydra for hpt's commands, with hpt's error contract.

Hydra's own entry point prints multi-line errors and exits 1. hpt asks Hydra to raise
instead (HYDRA_FULL_ERROR for the duration of the call), then turns user errors into one
line and exit code 2. With HYDRA_FULL_ERROR=1 set by the user, the traceback is shown.
"""

from __future__ import annotations

import functools
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, NoReturn

from hpt.errors import EXIT_INTERRUPTED, EXIT_USAGE, SweepAbortedError, UserError, one_line


def config_dir() -> Path:
    """``HPT_CONFIG_DIR``, else the ``conf/`` of this checkout."""
    env = os.environ.get("HPT_CONFIG_DIR")
    return Path(env).resolve() if env else Path(__file__).resolve().parent.parent / "conf"


def _user_error_types() -> tuple[type[BaseException], ...]:
    from hydra.errors import HydraException
    from omegaconf.errors import OmegaConfBaseException

    return (UserError, HydraException, OmegaConfBaseException)


def run_hydra(
    task_function: Callable[[Any], Any], argv: list[str], *, prog: str, multirun: bool = False
) -> int:
    """Compose the config from ``conf/`` plus ``argv`` overrides and run ``task_function``."""
    from hydra._internal.utils import _run_hydra, get_args_parser

    from hpt.config import Rejected, register, validate

    register()
    user_full_error = os.environ.get("HYDRA_FULL_ERROR") == "1"
    os.environ["HYDRA_FULL_ERROR"] = "1"  # make Hydra raise, so the error is ours to report
    parser = get_args_parser()
    parser.prog = prog

    def usage_error(message: str) -> NoReturn:  # argparse's default prints a 7-line usage block
        print(f"{prog}: error: {message} (see {prog} --help)", file=sys.stderr)
        raise SystemExit(EXIT_USAGE)

    parser.error = usage_error  # type: ignore[method-assign]
    inspecting = any(
        a
        in (
            "--cfg",
            "-c",
            "--info",
            "-i",
            "--help",
            "-h",
            "--hydra-help",
            "--shell-completion",
            "-sc",
        )
        for a in argv
    )
    try:
        args = parser.parse_args([*argv, "--multirun"] if multirun and not inspecting else argv)
    except SystemExit as exc:  # --help, or a bad flag (already reported on one line)
        if not user_full_error:
            os.environ.pop("HYDRA_FULL_ERROR", None)
        return int(exc.code or 0)
    failures: list[Exception] = []

    @functools.wraps(task_function)  # keeps the job's name
    def checked(cfg: Any) -> Any:
        # A single run was checked before its run dir existed (hpt.config.Validate); each job
        # of a multirun is checked here, so one bad combination fails alone.
        validate(cfg)
        return task_function(cfg)

    @functools.wraps(task_function)  # Hydra names the job after the wrapped function
    def single_run(cfg: Any) -> Any:
        # Hydra writes "Error executing job with overrides: ..." to stderr when a single run's
        # task raises: keep the exception from it and re-raise it here, so the error stays one line.
        try:
            return checked(cfg)
        except Exception as exc:
            failures.append(exc)
            return None

    try:
        _run_hydra(
            args=args,
            args_parser=parser,
            task_function=checked if multirun else single_run,
            config_path=str(config_dir()),
            config_name="config",
        )
        if failures:
            raise failures[0]
    except Rejected as exc:  # a setting out of its range (hpt.config.Validate)
        if user_full_error:
            raise exc.args[0] from None
        print(f"{prog}: error: {one_line(exc.args[0])}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print(f"{prog}: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except SweepAbortedError as exc:
        print(f"{prog}: {exc}", file=sys.stderr)
        return 1
    except _user_error_types() as exc:
        if user_full_error:
            raise
        print(f"{prog}: error: {one_line(exc)}", file=sys.stderr)
        return EXIT_USAGE
    except Exception as exc:
        if user_full_error:
            raise
        print(
            f"{prog}: internal error: {type(exc).__name__}: {one_line(exc)} (set HYDRA_FULL_ERROR=1 for the traceback)",
            file=sys.stderr,
        )
        return 1
    finally:
        if not user_full_error:
            os.environ.pop("HYDRA_FULL_ERROR", None)
    return 0
