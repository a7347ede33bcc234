"""``hpt ARGV`` called in-process (``hpt.cli.commands.main``): what a subprocess would run, minus
three seconds of interpreter start-up per call, with stdout, stderr and the files it left."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from helpers import run_in_process


@dataclass
class Ran:
    rc: int
    stdout: str
    stderr: str
    files: list[Path]  # everything the call left under its working directory


def hpt(*argv: str, cwd: Path) -> Ran:
    """``hpt ARGV`` in-process, in ``cwd`` (``helpers.run_in_process``), and the files it left."""
    rc, out, err = run_in_process(*argv, cwd=cwd)
    return Ran(rc, out, err, sorted(cwd.rglob("*")))
