"""``hpt ARGV`` called in-process (``hpt.cli.main``): what a subprocess would run, minus
three seconds of interpreter start-up per call, with stdout, stderr and the files it left."""

from __future__ import annotations

import contextlib
import io
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path


@dataclass
class Ran:
    rc: int
    stdout: str
    stderr: str
    files: list[Path]  # everything the call left under its working directory


@contextlib.contextmanager
def in_dir(path: Path) -> Iterator[None]:
    old = os.getcwd()
    os.chdir(path)
    try:
        yield
    finally:
        os.chdir(old)


def hpt(*argv: str, cwd: Path) -> Ran:
    """``hpt ARGV`` in-process, in ``cwd``, with stdout/stderr captured."""
    from hydra.core.global_hydra import GlobalHydra

    from hpt import cli

    GlobalHydra.instance().clear()
    out, err = io.StringIO(), io.StringIO()
    env_before = os.environ.get("HYDRA_FULL_ERROR")
    os.environ.pop("HYDRA_FULL_ERROR", None)
    try:
        with in_dir(cwd), contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            rc = cli.main(list(argv))
    finally:
        GlobalHydra.instance().clear()
        if env_before is not None:
            os.environ["HYDRA_FULL_ERROR"] = env_before
    files = sorted(p for p in cwd.rglob("*"))
    return Ran(rc, out.getvalue(), err.getvalue(), files)
