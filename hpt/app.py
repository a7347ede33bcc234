"""Running Hydra for hpt's commands, with hpt's error contract.

Hydra's own entry point prints multi-line errors and exits 1. hpt asks Hydra to raise
instead (HYDRA_FULL_ERROR for the duration of the call), then turns user errors into one
line and exit code 2. With HYDRA_FULL_ERROR=1 set by the user, the traceback is shown.
"""

from __future__ import annotations

import errno
import functools
import os
import signal
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn

from hpt.errors import (
    EXIT_INTERRUPTED,
    EXIT_TERMINATED,
    EXIT_USAGE,
    SweepAbortedError,
    Terminated,
    UserError,
    one_line,
    sigterm_as_interrupt,
)

HPT_CONF = "pkg://hpt.conf"  # hpt's own groups: the checkout's conf/, in the wheel as hpt/conf
_flag_config_dir: str | None = None  # the last --config-dir given to run_hydra


def config_dir() -> Path:
    """The folder of hpt's own config groups (``conf/`` of a checkout, ``hpt/conf`` of a wheel)."""
    from importlib.resources import files

    return Path(str(files("hpt.conf"))).resolve()


def user_config_dirs() -> list[Path]:
    """Config folders layered over hpt's, first wins: ``--config-dir``, ``HPT_CONFIG_DIR``
    (``os.pathsep``-separated), then ``./conf`` when it exists.

    Their group options (``model/mynet.yaml``, ``data/``, ``search/``...) are selectable next
    to hpt's and shadow hpt's of the same name; hpt's root ``config.yaml`` stays the root.
    """
    named = [("--config-dir", _flag_config_dir)] if _flag_config_dir else []
    named += [("HPT_CONFIG_DIR", p) for p in os.environ.get("HPT_CONFIG_DIR", "").split(os.pathsep)]
    dirs: list[Path] = []
    seen = {config_dir()}
    for source, raw in named:
        if not raw:
            continue
        path = Path(raw).expanduser().resolve()
        if not path.is_dir():
            raise UserError(f"{source}={raw}: no such directory")
        if (path / "config.yaml").exists():
            raise UserError(
                f"{source}={raw} has a config.yaml: hpt layers only config groups (model/, data/, "
                "search/ ...) over its own; rename it or point at a folder of groups"
            )
        if path not in seen:
            seen.add(path)
            dirs.append(path)
    cwd_conf = Path.cwd() / "conf"
    if cwd_conf.is_dir() and cwd_conf.resolve() not in seen:
        if (cwd_conf / "config.yaml").exists():  # another Hydra app's root: not ours to layer
            print(
                "hpt: note: ./conf has a config.yaml, so it is not layered over hpt's configs",
                file=sys.stderr,
            )
        else:
            dirs.append(cwd_conf.resolve())
    return dirs


def is_hpt_main(path: str) -> bool:
    """Whether a search-path entry is hpt's own config folder (pkg:// or file://)."""
    if path == HPT_CONF:
        return True
    local = path[len("file://") :] if path.startswith("file://") else path
    return "://" not in local and Path(local).resolve() == config_dir()


def _take_config_dir(argv: list[str]) -> list[str]:
    """Remove ``--config-dir DIR`` / ``-cd DIR`` from argv: hpt layers it itself (over its own
    groups; Hydra would put it under them)."""
    global _flag_config_dir
    _flag_config_dir, out, i = None, [], 0
    while i < len(argv):
        arg = argv[i]
        if arg in ("--config-dir", "-cd") and i + 1 < len(argv):
            _flag_config_dir, i = argv[i + 1], i + 2
            continue
        if arg.startswith("--config-dir="):
            _flag_config_dir = arg.split("=", 1)[1]
        else:
            out.append(arg)
        i += 1
    return out


def importable_cwd() -> None:
    """Let ``_target_: mypkg.MyNet`` resolve from the current directory, as ``python -m`` would.

    Appended, not prepended, so a local file cannot shadow an installed package.
    """
    cwd = os.getcwd()
    if cwd not in sys.path and "" not in sys.path:
        sys.path.append(cwd)


def renamed_overrides(argv: list[str], prog: str) -> list[str]:
    """``data.task=X`` (the old name) -> ``data.problem=X``, with one deprecation line."""
    out = []
    for arg in argv:
        key, sep, value = arg.partition("=")
        if key == "model" and value in ("null", "None", ""):  # Hydra: a ValueError, no hint
            raise UserError(
                "model=null: choose a model (model=mlp, cnn, resnet18, one of your "
                "conf/model/*.yaml, or model=custom model._target_=pkg.Net)"
            )
        if sep and key.lstrip("+~") == "data.task":
            print(
                f"{prog}: note: data.task is deprecated, use data.problem={value}", file=sys.stderr
            )
            arg = f"++data.problem={value}"  # ++: also for a user's data config without the key
        out.append(arg)
    return out


def did_you_mean(exc: BaseException) -> str | None:
    """For ``trainer.epoch=3`` (a key that is not there but is close to one that is), the key
    it probably meant, instead of Hydra's hint to add the misspelled key with ``+``."""
    import difflib
    import re

    from omegaconf import DictConfig
    from omegaconf.errors import OmegaConfBaseException

    found = re.search(r"Could not override '([^']+)'", str(exc))
    cause = exc.__cause__
    if found is None or not isinstance(cause, OmegaConfBaseException):
        return None
    key, missing, path = found.group(1), str(cause.key), str(cause.full_key or "")
    parent = getattr(cause, "parent_node", None)
    if not isinstance(parent, DictConfig) or not key.startswith(path):
        return None
    close = difflib.get_close_matches(missing, [str(k) for k in parent], n=1)
    if not close:
        return None
    head = path[: len(path) - len(missing)]  # `trainer.` of trainer.epoch
    return f"{key} is not a setting: did you mean {head}{close[0]}{key[len(path) :]}?"


def command_help(prog: str, about: str, skip_groups: tuple[str, ...]) -> str:
    """``hpt train --help``: what the command does, then its config groups and their options."""
    from hydra._internal.config_loader_impl import ConfigLoaderImpl
    from hydra._internal.utils import create_config_search_path
    from omegaconf import DictConfig, OmegaConf

    loader = ConfigLoaderImpl(config_search_path=create_config_search_path(HPT_CONF))
    defaults: dict[str, str] = {}
    root = OmegaConf.load(config_dir() / "config.yaml")
    for entry in root.get("defaults", []) if isinstance(root, DictConfig) else []:
        if isinstance(entry, DictConfig):
            for group, choice in dict(entry).items():
                defaults[str(group)] = str(choice)
    lines = [about.rstrip(), "", "config groups (group=option; * marks the default):"]
    for group in sorted(loader.list_groups("")):
        if group == "hydra" or group in skip_groups:
            continue
        names = [o for o in loader.get_group_options(group) if not o.startswith("base_")]
        shown = [f"{o}*" if defaults.get(group) == o else o for o in names]
        lines.append(f"  {group + ':':16}{', '.join(shown)}")
    lines += [
        "",
        f"Any key can be overridden: `{prog} --cfg job` prints them all (trainer.epochs=10);",
        "+key=value adds a key. Flags: --cfg job|hydra|all, --info, -m/--multirun, --quiet,",
        '--config-dir DIR, --version. Shell completion: eval "$(hpt -sc install=bash)"',
        "",
    ]
    return "\n".join(lines)


def versions() -> str:
    """``hpt --version``: hpt's version and those of the libraries it runs on (no imports)."""
    from importlib.metadata import PackageNotFoundError, version

    from hpt import __version__

    parts = [f"hpt {__version__}"]
    for name in ("torch", "optuna", "hydra-core"):
        try:
            parts.append(f"{name.removesuffix('-core')} {version(name)}")
        except PackageNotFoundError:
            parts.append(f"{name} not installed")
    return parts[0] + " (" + ", ".join(parts[1:]) + ")"


def multirun_dir(root: str = "outputs/multiruns") -> str:
    """A fresh directory for one ``hpt train -m`` (as Hydra's ``multirun/<date>/<time>``): two
    multiruns never share one, so none overwrites or appends to another's job dirs."""
    import datetime as dt

    while True:
        now = dt.datetime.now()
        path = Path(root) / now.strftime("%Y-%m-%d") / now.strftime("%H-%M-%S-%f")
        if not path.exists():
            return str(path)


def _given(overrides: list[str], key: str) -> bool:
    """Whether the command line sets ``key`` (``key=...``, ``+key=...``, ``++key=...``)."""
    return any(o.split("=", 1)[0].lstrip("+~") == key for o in overrides)


def close_record(run_dir: Path, error: str) -> None:
    """A run that ended on an I/O error after training (writing best.pt, say) must not stay
    RUNNING in its result.json: FAIL with the error, if the file can still be written."""
    from hpt.rundir import RESULT, atomic_write_json, read_json

    result = read_json(run_dir / RESULT)
    if result is None or result.get("status") != "RUNNING" or result.get("pid") != os.getpid():
        return
    import contextlib

    with contextlib.suppress(OSError):  # the disk is still full: the line on stderr is all
        atomic_write_json(
            run_dir / RESULT,
            {**result, "status": "FAIL", "error": error, "error_kind": "exception"},
        )


# Errors of the file system a run writes to (as opposed to a network error, also an OSError).
_FILE_ERRNOS = {
    errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EACCES, errno.EPERM, errno.ENOENT,
    errno.ENOTDIR, errno.EISDIR, errno.EIO, errno.EFBIG, errno.ENAMETOOLONG, errno.EEXIST,
}  # fmt: skip


def _user_error_types() -> tuple[type[BaseException], ...]:
    from hydra.errors import HydraException
    from omegaconf.errors import OmegaConfBaseException

    return (UserError, HydraException, OmegaConfBaseException)


@dataclass
class Job:
    """One job of a run or multirun, as ``hpt train`` reports it."""

    overrides: list[str]
    run_dir: str
    value: Any = None  # what the task function returned
    error: Exception | None = None


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
        jobs: When given, gets one ``Job`` per job run (a multirun's failures stay there
            instead of ending the command).
    """
    from hydra._internal.utils import _run_hydra, get_args_parser

    from hpt.config import Rejected, register, validate

    register()
    try:
        argv = renamed_overrides(_take_config_dir(argv), prog)
    except UserError as exc:
        print(f"{prog}: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    importable_cwd()
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
    if jobs is not None and args.multirun and not _given(args.overrides, "hydra.sweep.dir"):
        args.overrides.append(f"hydra.sweep.dir={multirun_dir()}")  # hpt train -m
    failures: list[Exception] = []

    @functools.wraps(task_function)  # keeps the job's name
    def checked(cfg: Any) -> Any:
        # A single run was checked before its run dir existed (hpt.config.Validate); each job
        # of `hpt train -m` is checked here, so one bad combination fails alone.
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
        # task raises: keep the exception from it and re-raise it here, so the error stays one line.
        try:
            return checked(cfg)
        except Exception as exc:
            failures.append(exc)
            return None

    previous_sigterm = sigterm_as_interrupt()
    try:
        _run_hydra(
            args=args,
            args_parser=parser,
            # hpt sweep's workers pickle the task function: it goes to them as it is (the
            # sweep's shared settings were checked by hpt.config.Validate before the sweep)
            task_function=recorded
            if jobs is not None
            else task_function
            if multirun
            else single_run,
            config_path=HPT_CONF,
            config_name="config",
        )
        if failures:
            raise failures[0]
        if jobs and not args.multirun and jobs[-1].error is not None:
            raise jobs[-1].error  # a single run's error: classified below like any other
    except Rejected as exc:  # a setting out of its range (hpt.config.Validate)
        if user_full_error:
            raise exc.args[0] from None
        print(f"{prog}: error: {one_line(exc.args[0])}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt as exc:
        terminated = isinstance(exc, Terminated)
        print(f"{prog}: {'terminated' if terminated else 'interrupted'}", file=sys.stderr)
        return EXIT_TERMINATED if terminated else EXIT_INTERRUPTED
    except BrokenPipeError:  # `hpt train --cfg job | head`: the reader left; hpt.cli ends quietly
        raise
    except SweepAbortedError as exc:
        print(f"{prog}: {exc}", file=sys.stderr)
        return 1
    except _user_error_types() as exc:
        if user_full_error:
            raise
        print(f"{prog}: error: {did_you_mean(exc) or one_line(exc)}", file=sys.stderr)
        return EXIT_USAGE
    except Exception as exc:
        if user_full_error:
            raise
        if isinstance(exc, OSError) and exc.errno in _FILE_ERRNOS:
            # A full disk, a read-only or vanished folder: the files' problem, not an hpt bug.
            where = exc.filename or (jobs[-1].run_dir if jobs else "the run directory")
            print(f"{prog}: error: cannot write {where}: {exc.strerror or exc}", file=sys.stderr)
            if jobs:
                close_record(Path(jobs[-1].run_dir), f"cannot write {where}: {exc.strerror}")
            return 1
        print(
            f"{prog}: internal error: {type(exc).__name__}: {one_line(exc)} (set HYDRA_FULL_ERROR=1 for the traceback)",
            file=sys.stderr,
        )
        return 1
    finally:
        if not user_full_error:
            os.environ.pop("HYDRA_FULL_ERROR", None)
        if previous_sigterm is not None:
            signal.signal(signal.SIGTERM, previous_sigterm)
    return 0
