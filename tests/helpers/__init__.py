"""Shared test helpers: the real config composed through Hydra, the CLI in a subprocess, real MNIST.

Imported by the test modules (``from helpers import compose_config``: pytest puts ``tests/`` on
``sys.path``, see ``pythonpath`` in pyproject.toml), never through ``conftest``. Everything here
runs on a CPU without network or ``../shared``.
"""

from __future__ import annotations

import contextlib
import io
import os
import shutil
import socket
import subprocess
import sys
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from omegaconf import DictConfig

REPO = Path(__file__).resolve().parents[2]
TESTS = REPO / "tests"
ASSETS = TESTS / "assets"
# The run-directory contract (README): the keys every result.json has, written out here
# rather than imported from hpt, so the test compares the code with the documented contract.
RESULT_KEYS = {
    "status",
    "objective",
    "objectives",
    "best",
    "final",
    "test",
    "epochs",
    "duration_s",
    "error",
    "error_kind",
    "params",
    "model",
    "trial",
}
# The option per task that needs no files: composing `loss=mse` needs `data=regression`, etc.
DATA_FOR_TASK = {"classification": "mnist_tiny", "binary": "binary", "regression": "regression"}


def compose_config(overrides: Sequence[str] = (), *, hydra_config: bool = False) -> DictConfig:
    """The config `hpt train` would run with these overrides (Hydra's compose API, real conf/)."""
    from hydra import compose, initialize_config_dir

    from hpt.cli.app import config_dir
    from hpt.config.schema import register

    register()
    with initialize_config_dir(config_dir=str(config_dir()), version_base="1.3", job_name="test"):
        return compose("config", overrides=list(overrides), return_hydra_config=hydra_config)


@dataclass
class CliResult:
    rc: int
    stdout: str
    stderr: str
    run_dir: Path


def cli_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "HYDRA_FULL_ERROR"}
    env.update(extra)
    return env


def run_cli(
    args: Sequence[str], cwd: Path, *, env: dict[str, str] | None = None, timeout: float = 300
) -> CliResult:
    """``python -m hpt ARGS`` in ``cwd``; ``hpt train`` gets ``hydra.run.dir=cwd/run``."""
    args = list(args)
    run_dir = cwd / "run"
    if args and args[0] == "train" and not any(a.startswith("hydra.run.dir=") for a in args):
        args.append(f"hydra.run.dir={run_dir}")
    proc = subprocess.run(
        [sys.executable, "-m", "hpt", *args],
        cwd=cwd,
        env=env if env is not None else cli_env(),
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    return CliResult(proc.returncode, proc.stdout, proc.stderr, run_dir)


def run_cli_many(
    jobs: dict[str, tuple[list[str], dict[str, str] | None]], base: Path
) -> dict[str, CliResult]:
    """Several CLI calls at once (each in ``base/<name>``): most of each is interpreter start-up."""
    workers = max(2, min(4, os.cpu_count() or 2))

    def one(name: str) -> CliResult:
        cwd = base / name
        cwd.mkdir(parents=True, exist_ok=True)
        args, env = jobs[name]
        return run_cli(args, cwd, env=env)

    with ThreadPoolExecutor(workers) as pool:
        return dict(zip(jobs, pool.map(one, jobs)))


def find_mnist_root() -> Path | None:
    candidates = [os.environ.get("HPT_DATA_DIR"), str(REPO.parent / "shared" / "datasets")]
    for c in candidates:
        if c and (Path(c).expanduser() / "MNIST" / "raw").is_dir():
            return Path(c).expanduser().resolve()
    return None


def has_cuda() -> bool:
    import torch

    return torch.cuda.is_available()


def run_in_process(*argv: str, cwd: Path) -> tuple[int, str, str]:
    """``hpt ARGV`` in this process, in ``cwd``: (exit code, stdout, stderr). Faster than
    ``run_cli`` where a test runs hpt many times; Hydra's global state is cleared around it."""
    from hydra.core.global_hydra import GlobalHydra

    from hpt.cli import commands as cli

    GlobalHydra.instance().clear()
    out, err, old = io.StringIO(), io.StringIO(), os.getcwd()
    before = os.environ.pop("HYDRA_FULL_ERROR", None)
    try:
        os.chdir(cwd)
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            rc = cli.main(list(argv))
    finally:
        os.chdir(old)
        GlobalHydra.instance().clear()
        if before is not None:
            os.environ["HYDRA_FULL_ERROR"] = before
    return rc, out.getvalue(), err.getvalue()


def free_port() -> int:
    """A TCP port on loopback that nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def mounted_tmpfs(mnt: Path, size: str = "3m") -> Iterator[Path]:
    """A real tmpfs of ``size`` mounted at ``mnt`` (root only: skips the test otherwise)."""
    import pytest

    if os.geteuid() != 0 or shutil.which("mount") is None:
        pytest.skip("mounting a tmpfs needs root")
    mnt.mkdir(parents=True, exist_ok=True)
    if subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(mnt)]).returncode:
        pytest.skip("mount -t tmpfs is not permitted here")
    try:
        yield mnt
    finally:
        subprocess.run(["umount", "-l", str(mnt)], check=False)


def trial_results(sweep_dir: Path) -> dict[int, dict]:
    """Every ``trial_*/result.json`` of a sweep dir, by trial number."""
    import json

    out = {}
    for d in sorted(sweep_dir.glob("trial_*")):
        r = json.loads((d / "result.json").read_text())
        out[r["trial"]["number"]] = r
    return out
