"""What a run ran on: enough to reproduce it or to explain a difference between two runs."""

from __future__ import annotations

import datetime as dt
import functools
import os
import platform
import socket
import subprocess
import sys
from typing import Any

import torch

from hpt.masking import mask_url


@functools.lru_cache(maxsize=4)
def git_state(cwd: str) -> dict[str, Any] | None:
    """Commit and dirty flag of the user's project, or None outside a git checkout."""
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=cwd, capture_output=True, text=True, timeout=5
        )
        if commit.returncode != 0:
            return None
        status = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=cwd,
            capture_output=True,
            text=True,
            timeout=5,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return {"commit": commit.stdout.strip(), "dirty": bool(status.stdout.strip())}


def device_name(device: torch.device) -> str:
    """The GPU's name on CUDA, else the processor's (``cpu`` when the platform says nothing)."""
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    return platform.processor() or platform.machine() or "cpu"


def manifest(
    *, seed: int, device: torch.device, precision: str, cwd: str, argv: list[str] | None = None
) -> dict[str, Any]:
    """What a run ran on and with: versions, device, host, command line, git state.

    Args:
        seed: The run's seed.
        device: The training device.
        precision: The resolved precision.
        cwd: The directory the command ran in (its git state is recorded).
        argv: The command line (default ``sys.argv``); storage passwords are masked.

    Returns:
        The ``manifest.json`` record.
    """
    cuda = torch.version.cuda if torch.cuda.is_available() else None
    cudnn = torch.backends.cudnn.version() if torch.cuda.is_available() else None
    return {
        "seed": seed,
        "git": git_state(cwd),
        "versions": {
            "python": platform.python_version(),
            "torch": torch.__version__,
            "cuda": cuda,
            "cudnn": cudnn,
            "hpt": _hpt_version(),
        },
        "device": str(device),
        "device_name": device_name(device),
        "precision": precision,
        "hostname": socket.gethostname(),
        "pid": os.getpid(),
        "start_time": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        # A storage URL on the command line may carry a database password: never record it.
        "argv": [mask_url(str(a)) for a in (argv if argv is not None else sys.argv)],
        "cpu_threads": torch.get_num_threads(),
        # where a cluster sweep ran it (hydra/launcher=submitit_slurm); null elsewhere
        "slurm": {k: os.environ[v] for k, v in _SLURM.items() if os.environ.get(v)} or None,
    }


_SLURM = {
    "job_id": "SLURM_JOB_ID",
    "array_job_id": "SLURM_ARRAY_JOB_ID",
    "array_task_id": "SLURM_ARRAY_TASK_ID",
    "node": "SLURMD_NODENAME",
}


def _hpt_version() -> str:
    from hpt import __version__

    return __version__
