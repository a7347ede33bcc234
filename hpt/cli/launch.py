"""Running Hydra for hpt's commands, with hpt's error contract.

Hydra's own entry point prints multi-line errors and exits 1. hpt asks Hydra to raise
instead (HYDRA_FULL_ERROR for the duration of the call), then turns user errors into one
line and exit code 2. With HYDRA_FULL_ERROR=1 set by the user, the traceback is shown.

:func:`run_hydra` takes these steps, each a function here: take ``--config-dir`` out of the
command line (:func:`split_config_dir`; the folder is this context's :func:`config_dir_flag`
while the command runs), rename old overrides (:func:`renamed_overrides`), parse the rest
with Hydra's parser (:func:`parse_command_line`), wrap the task function for the command
(:func:`job_function`), run Hydra (:func:`launch`) and turn what it raised into one line and
an exit code (``hpt.cli.exits.exit_code``).

The command line before Hydra sees it (``--config-dir``, renamed overrides, multirun
folders) is ``hpt.cli.argv``; hpt's Hydra app (its config folders and help) is ``hpt.cli.app``.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import os
import signal
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, NoReturn

from hpt.cli import hydra_internals
from hpt.cli.argv import (
    flag_hint,
    importable_cwd,
    multirun_dir,
    renamed_overrides,
    split_config_dir,
    using_config_dir,
)
from hpt.cli.exits import Job, exit_code, user_error_types
from hpt.errors import (
    EXIT_USAGE,
    UserError,
    sigterm_as_interrupt,
)
from hpt.rundir import discard_refused

HPT_CONF = "pkg://hpt.conf"  # hpt's own groups: the checkout's conf/, in the wheel as hpt/conf

# The flags that only show something (the config, help, completion): no --multirun added.
_INSPECTING = (
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


def _given(overrides: list[str], key: str) -> bool:
    """Whether the command line sets ``key`` (``key=...``, ``+key=...``, ``++key=...``)."""
    return any(o.split("=", 1)[0].lstrip("+~") == key for o in overrides)


@contextlib.contextmanager
def _hydra_raises() -> Iterator[bool]:
    """HYDRA_FULL_ERROR=1 for the block, so Hydra raises and the error is hpt's to report.

    Yields:
        Whether the user had set HYDRA_FULL_ERROR=1 (then hpt shows tracebacks too).
    """
    user_full_error = os.environ.get("HYDRA_FULL_ERROR") == "1"
    os.environ["HYDRA_FULL_ERROR"] = "1"
    try:
        yield user_full_error
    finally:
        if not user_full_error:
            os.environ.pop("HYDRA_FULL_ERROR", None)


@contextlib.contextmanager
def _sigterm_interrupts() -> Iterator[None]:
    """SIGTERM raises ``Terminated`` for the block, when the handler is hpt's to set."""
    previous_sigterm = sigterm_as_interrupt()
    try:
        yield
    finally:
        if previous_sigterm is not None:
            signal.signal(signal.SIGTERM, previous_sigterm)


def parse_command_line(
    argv: list[str], prog: str, *, multirun: bool, own_sweep_dir: bool
) -> tuple[argparse.Namespace, argparse.ArgumentParser]:
    """Parse argv with Hydra's parser, named ``prog``, its usage errors one line.

    Args:
        argv: Overrides and Hydra's flags, ``--config-dir`` already taken out.
        prog: The command's name in messages (``hpt train``).
        multirun: Add ``--multirun`` (``hpt sweep``), unless a flag only shows something.
        own_sweep_dir: Give a multirun a fresh ``hydra.sweep.dir`` unless argv sets one
            (``hpt train -m``).

    Returns:
        The parsed arguments and the parser, both for :func:`launch`.

    Raises:
        SystemExit: For ``--help`` (code 0) or a bad flag (already reported on one line).
    """
    parser = hydra_internals.args_parser()
    parser.prog = prog

    def usage_error(message: str) -> NoReturn:  # argparse's default prints a 7-line usage block
        hint = flag_hint(argv, prog) or f"see {prog} --help"  # --epochs 3: trainer.epochs=3
        print(f"{prog}: error: {message}; {hint}", file=sys.stderr)
        raise SystemExit(EXIT_USAGE)

    parser.error = usage_error  # type: ignore[method-assign]
    inspecting = any(a in _INSPECTING for a in argv)
    args = parser.parse_args([*argv, "--multirun"] if multirun and not inspecting else argv)
    if own_sweep_dir and args.multirun and not _given(args.overrides, "hydra.sweep.dir"):
        args.overrides.append(f"hydra.sweep.dir={multirun_dir()}")  # hpt train -m
    return args, parser


def job_function(
    task_function: Callable[[Any], Any],
    *,
    multirun: bool,
    jobs: list[Job] | None,
    failures: list[Exception],
    check_each: bool = False,
) -> Callable[[Any], Any]:
    """The function Hydra runs for each job of the command.

    Args:
        task_function: The command's task, given a job's config.
        multirun: Whether the command is a multirun.
        jobs: ``hpt train``'s list of jobs: each job run is appended, its error included.
        failures: Where a single run's exception goes, instead of Hydra's report of it.
        check_each: Validate each job's config (``hpt train -m``: the callback checked only
            the settings the jobs share); a single run's was checked before its run dir.

    Returns:
        With ``jobs``: the task, the job recorded. For a multirun without (``hpt sweep``):
        the task itself, as its workers pickle it (each trial's run validates its config).
        Otherwise (a single run): the task, its exception kept.
    """
    from hpt.config.check import validate

    @functools.wraps(task_function)  # keeps the job's name
    def checked(cfg: Any) -> Any:
        # each job of `hpt train -m` is checked here, so one bad combination fails alone
        if check_each:
            validate(cfg)
        return task_function(cfg)

    @functools.wraps(task_function)
    def recorded(cfg: Any) -> Any:
        from hydra.core.hydra_config import HydraConfig

        hc = HydraConfig.get()
        job = Job(list(hc.overrides.task), str(hc.runtime.output_dir))
        assert jobs is not None
        jobs.append(job)
        try:
            job.value = checked(cfg)
        except Exception as exc:  # reported by the command, job by job
            job.error = exc
        return job.value

    @functools.wraps(task_function)  # Hydra names the job after the wrapped function
    def single_run(cfg: Any) -> Any:
        # Hydra writes "Error executing job with overrides: ..." to stderr when a single run's
        # task raises: keep the exception from it and re-raise it later, so the error stays
        # one line.
        try:
            return checked(cfg)
        except Exception as exc:
            failures.append(exc)
            return None

    if jobs is not None:
        return recorded
    return task_function if multirun else single_run


def launch(
    task: Callable[[Any], Any],
    args: argparse.Namespace,
    parser: argparse.ArgumentParser,
    *,
    failures: list[Exception],
    jobs: list[Job] | None,
) -> None:
    """Run Hydra on the parsed command line, then raise the error a single run ended with.

    Args:
        task: The function for each job (:func:`job_function`).
        args: The parsed command line (:func:`parse_command_line`).
        parser: Its parser.
        failures: The exceptions ``task`` kept from Hydra.
        jobs: ``hpt train``'s jobs, when it records them.

    Raises:
        Exception: A single run's error, or whatever Hydra raised, for ``exit_code``.
    """
    hydra_internals.mask_saved_configs()  # no URL password in any job's .hydra/*.yaml
    # caller_stack_depth: the frame Hydra names the app after, when the task function's
    # module does not: run_hydra's caller, as when run_hydra called Hydra itself.
    hydra_internals.run_hydra(
        args,
        parser,
        task,
        config_path=HPT_CONF,
        config_name="config",
        caller_stack_depth=3,
    )
    if failures:
        raise failures[0]
    if jobs and not args.multirun and jobs[-1].error is not None:
        if isinstance(jobs[-1].error, user_error_types()):  # refused: no run dir is left
            discard_refused(Path(jobs[-1].run_dir))
        raise jobs[-1].error  # a single run's error: classified by exit_code like any other


def run_hydra(
    task_function: Callable[[Any], Any],
    argv: list[str],
    *,
    prog: str,
    multirun: bool = False,
    jobs: list[Job] | None = None,
) -> int:
    """Compose the config from ``conf/`` plus ``argv`` overrides and run ``task_function``.

    Args:
        task_function: The command's task, given each job's config.
        argv: The command's arguments: overrides and Hydra's flags.
        prog: The command's name in messages (``hpt train``).
        multirun: Run every job of a sweep (``hpt sweep``).
        jobs: When given, gets one ``Job`` per job run (a multirun's failures stay there
            instead of ending the command).

    Returns:
        The exit code: 0 done, 1 the run failed, 2 bad input (one line on stderr), 130/143
        interrupted.
    """
    from hpt.config.schema import register

    register()
    try:
        flag, argv = split_config_dir(argv)
        argv = renamed_overrides(argv, prog)
    except UserError as exc:
        print(f"{prog}: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    importable_cwd()
    with using_config_dir(flag), _hydra_raises() as user_full_error:
        try:
            own_sweep_dir = jobs is not None
            args, parser = parse_command_line(
                argv, prog, multirun=multirun, own_sweep_dir=own_sweep_dir
            )
        except SystemExit as exc:  # --help, or a bad flag (already reported on one line)
            return int(exc.code or 0)
        failures: list[Exception] = []
        task = job_function(
            task_function,
            multirun=multirun,
            jobs=jobs,
            failures=failures,
            check_each=bool(args.multirun),
        )
        with _sigterm_interrupts():
            try:
                launch(task, args, parser, failures=failures, jobs=jobs)
            except BaseException as exc:
                code = exit_code(exc, prog, user_full_error=user_full_error, jobs=jobs)
                if code is None:
                    raise
                return code
    return 0
