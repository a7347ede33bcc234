"""The user-data paths against what a user would write by hand, side by side in one process.

(a) ``data=table``: hpt's ``fit`` epoch (train + validation) on the tensors ``build`` made from
    a CSV, against a hand-written loop (randperm + slicing + the same validation pass) on the
    same tensors, same MLP, same initial weights. Target: ratio <= 1.05.
(b) ``data=image_folder``: hpt's epoch on its decode-once uint8 cache (normalised tensors,
    batches by slicing) against torchvision ``ImageFolder`` + ``DataLoader`` that decodes and
    transforms every image every epoch (num_workers 0 and 2), same CNN, same images.

Data: scikit-learn's ``load_digits`` (1,797 real 8x8 scans). For (a) its 64 pixel columns
are a CSV table repeated 16 times (28,752 rows) so an epoch is long enough to time; for (b)
the images are PNG files in train/<class>/ folders, resized to 32x32.

    python benchmarks/own_data.py [--repeats 5] [--threads 1]
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from hpt.api import compose
from hpt.build import build
from hpt.training.loop import fit
from hpt.training.loop_types import Callbacks
from hpt.training.progress import RunProgress

BATCH, EVAL_BATCH = 128, 2048


def write_data(folder: Path) -> tuple[Path, Path]:
    import pandas as pd
    from PIL import Image
    from sklearn.datasets import load_digits

    digits = load_digits()
    frame = pd.DataFrame(digits.data, columns=[f"px{i}" for i in range(64)])
    frame["digit"] = digits.target
    csv = folder / "digits.csv"
    pd.concat([frame] * 16, ignore_index=True).to_csv(csv, index=False)
    root = folder / "digits"
    for i, (image, label) in enumerate(zip(digits.images, digits.target)):
        d = root / "train" / str(label)
        d.mkdir(parents=True, exist_ok=True)
        Image.fromarray((image * 16).clip(0, 255).astype(np.uint8), "L").save(d / f"{i}.png")
    return csv, root


def hpt_epoch(overrides: list[str]) -> tuple[Callable[[], float], object]:
    cfg = compose(
        [
            *overrides,
            "trainer.device=cpu",
            "trainer.precision=fp32",
            "trainer.epochs=1",
            "trainer.quiet=true",
        ]
    )
    run = build(cfg)
    steps = len(run.data.train) // BATCH

    def epoch() -> float:
        with RunProgress(1, steps, quiet=True) as progress:
            fit(run, Callbacks(on_step=progress.step))
        return 0.0

    return epoch, run


def _same_optimizer(run: object, model: nn.Module) -> torch.optim.Optimizer:
    """hpt's optimizer class and settings, over the copy's parameters."""
    import inspect

    cls = type(run.optimizer)  # type: ignore[attr-defined]
    accepted = set(inspect.signature(cls).parameters)
    defaults = {k: v for k, v in run.optimizer.defaults.items() if k in accepted}  # type: ignore[attr-defined]
    return cls(model.parameters(), **defaults)


def hand_epoch(run: object) -> Callable[[], float]:
    """The same model (fresh copy of hpt's initial weights), optimizer type and tensors."""
    import copy

    model: nn.Module = copy.deepcopy(run.model)  # type: ignore[attr-defined]
    opt = _same_optimizer(run, model)
    data = run.data  # type: ignore[attr-defined]
    x, y = data.train.x, data.train.y
    gen = torch.Generator().manual_seed(0)

    def epoch() -> float:
        model.train()
        perm = torch.randperm(len(x), generator=gen)
        for i in range(0, len(x) - len(x) % BATCH, BATCH):
            idx = perm[i : i + BATCH]
            loss = F.cross_entropy(model(x[idx]), y[idx])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
        model.eval()
        loss_sum, correct = torch.zeros(()), torch.zeros(())
        with torch.no_grad():
            for i in range(0, len(data.val), EVAL_BATCH):
                xv, yv = data.val.x[i : i + EVAL_BATCH], data.val.y[i : i + EVAL_BATCH]
                out = model(xv)
                loss_sum += F.cross_entropy(out, yv) * len(yv)
                correct += (out.argmax(1) == yv).sum()
        _ = loss_sum.item(), correct.item()
        return 0.0

    return epoch


def loader_epoch(root: Path, run: object, workers: int) -> Callable[[], float]:
    """torchvision ImageFolder + DataLoader: decode, resize, normalise every image every epoch."""
    import copy

    from torch.utils.data import DataLoader
    from torchvision import datasets, transforms

    tf = transforms.Compose(
        [
            transforms.Grayscale(),
            transforms.Resize((32, 32)),
            transforms.ToTensor(),
            transforms.Normalize((0.5,), (0.5,)),
        ]
    )
    loader = DataLoader(
        datasets.ImageFolder(str(root / "train"), transform=tf),
        batch_size=BATCH,
        shuffle=True,
        num_workers=workers,
        persistent_workers=workers > 0,
    )
    model: nn.Module = copy.deepcopy(run.model)  # type: ignore[attr-defined]
    opt = _same_optimizer(run, model)

    def epoch() -> float:
        model.train()
        for xb, yb in loader:
            loss = F.cross_entropy(model(xb), yb)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
        return 0.0

    return epoch


def measure(variants: dict[str, Callable[[], float]], repeats: int) -> dict[str, float]:
    for fn in variants.values():
        fn()  # warm-up
    times: dict[str, list[float]] = {n: [] for n in variants}
    names = list(variants)
    for rep in range(repeats):
        for name in names[rep % len(names) :] + names[: rep % len(names)]:
            t0 = time.perf_counter()
            variants[name]()
            times[name].append(time.perf_counter() - t0)
    return {n: statistics.median(ts) for n, ts in times.items()}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--threads", type=int, default=None)
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    with tempfile.TemporaryDirectory() as tmp:
        csv, root = write_data(Path(tmp))
        table_epoch, table_run = hpt_epoch(
            ["data=table", f"data.path={csv}", "data.target=digit", "data.test_split=0.1"]
        )
        a = measure({"hpt": table_epoch, "hand": hand_epoch(table_run)}, args.repeats)

        t0 = time.perf_counter()
        image_epoch, image_run = hpt_epoch(
            [
                "data=image_folder",
                f"data.root={root}",
                "data.size=32",
                "data.test_split=0.1",
                "trainer.val_split=0.01",
                "model=cnn",
                "model.channels=[16,32]",
            ]
        )
        decode_s = time.perf_counter() - t0
        b = measure(
            {
                "hpt": image_epoch,
                "loader nw=0": loader_epoch(root, image_run, 0),
                "loader nw=2": loader_epoch(root, image_run, 2),
            },
            args.repeats,
        )

    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(
        f"# hpt user-data benchmarks  {dt.datetime.now().astimezone().isoformat(timespec='seconds')}"
    )
    print(
        f"# {platform.machine()}, {os.cpu_count()} cores, torch {torch.__version__} "
        f"({torch.get_num_threads()} threads), Python {platform.python_version()}, load avg {load:.2f}"
    )
    print(f"# median of {args.repeats} epochs after one warm-up epoch each; CPU, fp32\n")
    n_tab = len(table_run.data.train)  # type: ignore[attr-defined]
    print(f"(a) data=table: {n_tab:,} train rows x 64 columns, MLP 64-256-256-10, batch {BATCH}")
    print(
        f"    hpt fit (train + val) {a['hpt']:.3f} s/epoch   hand loop (train + val) {a['hand']:.3f} s/epoch"
    )
    print(f"    hpt / hand = {a['hpt'] / a['hand']:.3f}  (target <= 1.05)\n")
    n_img = len(image_run.data.train)  # type: ignore[attr-defined]
    print(f"(b) data=image_folder: {n_img:,} PNGs at 32x32, CNN [16, 32], batch {BATCH}")
    print(f"    hpt first build (decode once + build) {decode_s:.2f} s")
    print(
        f"    hpt epoch {b['hpt']:.3f} s   ImageFolder+DataLoader nw=0 {b['loader nw=0']:.3f} s   "
        f"nw=2 {b['loader nw=2']:.3f} s (train only)"
    )
    print(
        f"    DataLoader / hpt: nw=0 {b['loader nw=0'] / b['hpt']:.2f}x   nw=2 {b['loader nw=2'] / b['hpt']:.2f}x"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
