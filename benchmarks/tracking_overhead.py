"""What do the experiment trackers and ``checkpoints/last.pt`` cost per epoch?

One process, real MNIST (HPT_DATA_DIR), hpt's default MLP and AdamW, batch 128, fp32 on the CPU.
Each variant builds the run once (``hpt.build.build`` on the composed config, the data shared)
and trains ``--epochs`` epochs with ``hpt.training.loop.fit``; an epoch's wall time runs from one
``on_epoch`` call to the next, so it includes the logging (and the last.pt save) of the epoch:

  none          no logger, no last.pt (the baseline)
  tensorboard   logger=tensorboard (event files in a temporary run dir)
  mlflow        logger=mlflow on a local SQLite store
  csv           logger=csv
  last.pt       no logger, checkpoints/last.pt saved after every epoch

The variants alternate over ``--rounds`` rounds (order rotated) and the table shows each one's
median epoch time and its ratio to ``none``. Separately, the direct cost of one
``log_metrics`` call per logger and of one last.pt save is timed (median of 20).

    HPT_DATA_DIR=../shared/datasets python benchmarks/tracking_overhead.py [--rounds 3] [--epochs 3]
"""

from __future__ import annotations

import argparse
import datetime as dt
import itertools
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
from conftest import compose_config  # the real config, composed by Hydra

from hpt.build import build
from hpt.loggers import RunInfo, open_loggers
from hpt.training.loop import fit, unwrap
from hpt.training.loop_types import Callbacks
from hpt.training.resume import LastCheckpoint, Progress

DATA = ["data=mnist"]  # --subset N adds data.subset=N
VARIANTS = {
    "none": ({}, False),
    "tensorboard": ({"tensorboard": {"flush_secs": 30}}, False),
    "mlflow": ({"mlflow": {}}, False),
    "csv": ({"csv": {}}, False),
    "last.pt": ({}, True),
}


def one_fit(name: str, epochs: int, cache: dict, tmp: Path, i: int) -> list[float]:
    selection, save_last = VARIANTS[name]
    cfg = compose_config([*DATA, "trainer.device=cpu", f"trainer.epochs={epochs}"])
    built = build(cfg, cache)
    run_dir = tmp / f"{name.replace('.', '_')}_{i}"
    loggers = open_loggers(selection, RunInfo(run_dir, {"optimizer.lr": 1e-3}, None, tmp))
    stamps: list[float] = []

    def on_epoch(m: dict[str, float]) -> None:
        loggers.log_metrics(m, int(m["epoch"]))
        stamps.append(time.perf_counter())

    last = run_dir / "checkpoints" / "last.pt" if save_last else None
    stamps.append(time.perf_counter())
    fit(built, Callbacks(on_epoch=on_epoch), last=last)
    stamps.append(time.perf_counter())  # the last epoch's save happens after its on_epoch
    loggers.finish("COMPLETE", {"best/val/acc": 0.9})
    # epoch k: from on_epoch(k-1) to on_epoch(k); the last.pt of epoch k lands in epoch k+1's
    # interval, and the final save in the tail, which is added to the last epoch
    times = [b - a for a, b in itertools.pairwise(stamps[:-1])]
    times[-1] += stamps[-1] - stamps[-2]
    return times


def direct_costs(cache: dict, tmp: Path) -> dict[str, float]:
    cfg = compose_config([*DATA, "trainer.device=cpu", "trainer.epochs=1"])
    built = build(cfg, cache)
    fit(built)
    metrics = {
        "epoch": 1,
        "train/loss": 0.3,
        "val/loss": 0.2,
        "val/acc": 0.95,
        "lr": 1e-3,
        "time/epoch_s": 1.0,
        "throughput/samples_per_s": 1e4,
    }
    out: dict[str, float] = {}
    for name in ("tensorboard", "mlflow", "csv"):
        loggers = open_loggers(VARIANTS[name][0], RunInfo(tmp / f"direct_{name}", {}, None, tmp))
        costs = []
        for step in range(1, 21):
            t0 = time.perf_counter()
            loggers.log_metrics(metrics, step)
            costs.append(time.perf_counter() - t0)
        loggers.finish("COMPLETE", {})
        out[name] = statistics.median(costs)
    state = {k: v.clone() for k, v in unwrap(built.model).state_dict().items()}
    ckpt = LastCheckpoint(
        tmp / "direct_last.pt", {"model": unwrap(built.model), "optimizer": built.optimizer}, {}
    )
    costs = []
    for _ in range(20):
        t0 = time.perf_counter()
        ckpt.save(Progress(1, [metrics], metrics, 0.95, state, 0))
        costs.append(time.perf_counter() - t0)
    out["last.pt"] = statistics.median(costs)
    out["last.pt MB"] = (tmp / "direct_last.pt").stat().st_size / 1e6
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--subset", type=int, default=None, help="train on N MNIST images")
    args = parser.parse_args()
    if args.subset:
        DATA.append(f"data.subset={args.subset}")
    torch.set_num_threads(max(1, (os.cpu_count() or 2)))
    cache: dict[Any, Any] = {}
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        os.chdir(tmp)  # MLflow's default store: <cwd>/outputs/mlflow.db
        one_fit("none", 1, cache, tmp, -1)  # warm-up: data on the device, kernels, imports
        times: dict[str, list[float]] = {k: [] for k in VARIANTS}
        names = list(VARIANTS)
        for r in range(args.rounds):
            for name in names[r % len(names) :] + names[: r % len(names)]:
                times[name] += one_fit(name, args.epochs, cache, tmp, r)
                print(
                    f"round {r} {name}: {times[name][-args.epochs :]}", file=sys.stderr, flush=True
                )
        direct = direct_costs(cache, tmp)
    base = statistics.median(times["none"])
    import mlflow
    import tensorboard

    print(
        f"# {dt.datetime.now(dt.timezone.utc):%Y-%m-%d %H:%M} UTC, {platform.node()}, "
        f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, torch {torch.__version__}, "
        f"tensorboard {tensorboard.__version__}, mlflow {mlflow.__version__}, "
        f"load avg {os.getloadavg()[0]:.1f}"
    )
    print(
        f"# {args.rounds} rounds x {args.epochs} epochs per variant, real MNIST ({' '.join(DATA)}), MLP, fp32 CPU"
    )
    print("| variant | median epoch (s) | ratio to none | direct cost per epoch (ms) |")
    print("|---|---:|---:|---:|")
    for name in VARIANTS:
        med = statistics.median(times[name])
        cost = f"{direct[name] * 1e3:.2f}" if name in direct else "-"
        print(f"| {name} | {med:.3f} | {med / base:.3f} | {cost} |")
    print(
        f"# last.pt size {direct['last.pt MB']:.1f} MB; direct save cost / median none epoch = "
        f"{direct['last.pt'] / base * 100:.2f}%"
    )


if __name__ == "__main__":
    main()
