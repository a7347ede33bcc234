"""Asynchronous workers: finished trials per minute for n_jobs = 1, 2, ... on one machine.

The same random-search sweep (real MNIST subset, MLP) runs with each worker count, side by
side in one invocation; each worker process gets cores // n_jobs torch threads. On a GPU
machine the workers share the GPU (`per_gpu` packing).

Usage: HPT_DATA_DIR=../shared/datasets python benchmarks/parallel_workers.py [--jobs 1 2] [--trials 12]
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def sweep_seconds(
    n_jobs: int, trials: int, epochs: int, subset: int, work: Path, extra: list[str]
) -> float:
    cmd = [
        sys.executable,
        "-m",
        "hpt",
        "sweep",
        "search=random",
        f"hydra.sweeper.n_trials={trials}",
        f"hydra.sweeper.n_jobs={n_jobs}",
        f"hydra.sweeper.per_gpu={max(n_jobs, 1)}",
        f"trainer.epochs={epochs}",
        f"data.subset={subset}",
        f"hydra.sweep.dir={work / f'jobs{n_jobs}'}",
        "hydra.sweeper.max_failure_rate=1.0",
        *extra,
    ]
    t0 = time.perf_counter()
    subprocess.run(
        cmd, check=True, cwd=work, capture_output=True, env={**os.environ, "PYTHONPATH": str(REPO)}
    )
    return time.perf_counter() - t0


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--jobs", type=int, nargs="+", default=[1, 2])
    p.add_argument("--trials", type=int, default=12)
    p.add_argument("--epochs", type=int, default=2)
    p.add_argument("--subset", type=int, default=10000)
    p.add_argument("extra", nargs="*", help="more overrides, e.g. model=cnn")
    a = p.parse_args()
    import torch

    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, torch {torch.__version__}, cuda {torch.cuda.is_available()}"
    )
    print(
        f"sweep: search=random, {a.trials} trials x {a.epochs} epochs, real MNIST subset {a.subset}, {' '.join(a.extra)}"
    )
    base = None
    with tempfile.TemporaryDirectory() as tmp:
        for n in a.jobs:
            s = sweep_seconds(n, a.trials, a.epochs, a.subset, Path(tmp), a.extra)
            rate = a.trials / s * 60
            base = base or rate
            print(
                f"n_jobs={n}: {s:.1f} s wall, {rate:.1f} trials/min, x{rate / base:.2f} vs n_jobs={a.jobs[0]}",
                flush=True,
            )


if __name__ == "__main__":
    main()
