"""How much does hpt's training loop cost over a hand-written one, and over a tutorial DataLoader loop?

One process, the same MNIST tensors, the same MLP (``hpt.models.MLP``, width 256, depth 2), AdamW,
batch 128, fp32 on the CPU. Three ways to train one epoch:

  (a) hpt       ``hpt.training.loop.fit(epochs=1)`` on objects built with plain arguments (no Hydra)
  (b) hand      ``randperm`` + slicing, ``zero_grad``/``backward``/``step``, nothing else
  (c) loader    ``torchvision.datasets.MNIST`` + ``Compose([ToTensor(), Normalize])`` +
                ``DataLoader(batch_size=128, shuffle=True)``, num_workers 0 (and 2)

hpt's epoch always ends with a validation pass and a copy of the best weights, so it is timed two
ways: the whole ``fit`` call against (b) plus the same validation pass written by hand, and hpt's
own train-only time (its ``throughput/samples_per_s``) against (b) without validation.
Every variant gets a warm-up epoch, then the repeats alternate (rotating the order), and the
table shows medians.

    HPT_DATA_DIR=../shared/datasets python benchmarks/loop_overhead.py [--repeats 7] [--no-workers]
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import statistics
import sys
import time
import warnings
from collections.abc import Callable
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from hpt.data import MNIST_MEAN, MNIST_STD, Dataset, Split, load_mnist, load_mnist_tiny
from hpt.models import MLP
from hpt.schedulers import constant
from hpt.training.loop import fit
from hpt.training.loop_types import Callbacks, LoopSettings, Parts
from hpt.training.progress import RunProgress

BATCH, EVAL_BATCH, LR, VAL_FRACTION, SEED = 128, 2048, 1e-3, 0.1, 0


def load_data() -> tuple[Dataset, torch.Tensor, str | None]:
    """hpt's train/val split of MNIST (train indices too, for the DataLoader), or mnist_tiny."""
    root = os.environ.get("HPT_DATA_DIR")
    if root and (Path(root).expanduser() / "MNIST" / "raw").is_dir():
        train, test = load_mnist(root, download=False)
    else:
        warnings.warn(
            "HPT_DATA_DIR holds no MNIST/raw: timing the bundled mnist_tiny (2,000 images) instead",
            stacklevel=1,
        )
        root = None
        train, test = load_mnist_tiny()
    perm = torch.randperm(len(train), generator=torch.Generator().manual_seed(SEED))
    n_val = round(len(train) * VAL_FRACTION)
    val_idx, train_idx = perm[:n_val], perm[n_val:]
    data = Dataset(
        Split(train.x[train_idx], train.y[train_idx]),
        Split(train.x[val_idx], train.y[val_idx]),
        test,
        "classification",
    )
    return data, train_idx, root


def new_model() -> tuple[nn.Module, torch.optim.Optimizer]:
    torch.manual_seed(SEED)  # the same initial weights for every variant
    model = MLP([1, 28, 28], 10)
    return model, torch.optim.AdamW(model.parameters(), lr=LR)


def hpt_epoch(data: Dataset) -> Callable[[], float]:
    """One ``fit`` call per epoch; returns hpt's own train-only seconds (from its throughput)."""
    model, opt = new_model()
    settings = LoopSettings(
        epochs=1,
        batch_size=BATCH,
        eval_batch_size=EVAL_BATCH,
        precision="fp32",
        device=torch.device("cpu"),
        problem="classification",
        objective="val/acc",
        maximize=True,
        seed=SEED,
    )
    schedule = constant(opt, steps_per_epoch=len(data.train) // BATCH, epochs=1)
    loss_fn = nn.CrossEntropyLoss()

    def epoch() -> float:
        with RunProgress(
            1, len(data.train) // BATCH, quiet=True
        ) as progress:  # as `hpt train` passes it
            parts = Parts(model, opt, schedule, data, loss_fn, settings)
            result = fit(parts, Callbacks(on_step=progress.step))
        m = result.history[-1]
        return (len(data.train) // BATCH) * BATCH / m["throughput/samples_per_s"]

    return epoch


def hand_epoch(data: Dataset, *, with_eval: bool) -> Callable[[], float]:
    model, opt = new_model()
    x, y = data.train.x, data.train.y
    gen = torch.Generator().manual_seed(SEED)

    def epoch() -> float:
        model.train()
        n = len(x)
        perm = torch.randperm(n, generator=gen)
        for i in range(0, n - n % BATCH, BATCH):
            idx = perm[i : i + BATCH]
            loss = F.cross_entropy(model(x[idx]), y[idx])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
        if with_eval:  # what hpt's epoch also does: loss and accuracy over the validation split
            model.eval()
            loss_sum, correct = torch.zeros(()), torch.zeros(())
            with torch.no_grad():
                for i in range(0, len(data.val), EVAL_BATCH):
                    xv, yv = data.val.x[i : i + EVAL_BATCH], data.val.y[i : i + EVAL_BATCH]
                    out = model(xv)
                    loss_sum += F.cross_entropy(out, yv) * len(yv)
                    correct += (out.argmax(1) == yv).sum()
            _ = loss_sum.item() / len(data.val), correct.item() / len(data.val)
        return float("nan")

    return epoch


def loader_epoch(root: str, train_idx: torch.Tensor, workers: int) -> Callable[[], float]:
    from torch.utils.data import DataLoader, Subset
    from torchvision import datasets, transforms

    tf = transforms.Compose(
        [transforms.ToTensor(), transforms.Normalize((MNIST_MEAN,), (MNIST_STD,))]
    )
    dataset = Subset(
        datasets.MNIST(root, train=True, download=False, transform=tf), train_idx.tolist()
    )
    loader = DataLoader(
        dataset, batch_size=BATCH, shuffle=True, num_workers=workers, persistent_workers=workers > 0
    )
    model, opt = new_model()

    def epoch() -> float:
        model.train()
        for x, y in loader:
            loss = F.cross_entropy(model(x), y)
            opt.zero_grad()
            loss.backward()
            opt.step()
        return float("nan")

    return epoch


def timed(fn: Callable[[], float]) -> tuple[float, float]:
    t0 = time.perf_counter()
    inner = fn()
    return time.perf_counter() - t0, inner


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--repeats", type=int, default=7, help="timed epochs per fast variant (median reported)"
    )
    parser.add_argument(
        "--loader-repeats", type=int, default=3, help="timed epochs per DataLoader variant"
    )
    parser.add_argument(
        "--no-workers", action="store_true", help="skip the num_workers=2 DataLoader"
    )
    parser.add_argument(
        "--threads", type=int, default=None, help="torch.set_num_threads (default: torch's choice)"
    )
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(
            args.threads
        )  # on a shared machine, 1 thread avoids OpenMP spin-wait stalls

    data, train_idx, root = load_data()
    variants: dict[str, Callable[[], float]] = {
        "hpt fit (train + val)": hpt_epoch(data),
        "hand (train + val)": hand_epoch(data, with_eval=True),
        "hand (train only)": hand_epoch(data, with_eval=False),
    }
    slow: dict[str, Callable[[], float]] = {}
    if root is not None:
        slow["DataLoader nw=0 (train only)"] = loader_epoch(root, train_idx, 0)
        if not args.no_workers:
            slow["DataLoader nw=2 (train only)"] = loader_epoch(root, train_idx, 2)

    times: dict[str, list[float]] = {name: [] for name in [*variants, *slow]}
    hpt_train_only: list[float] = []
    for fn in [*variants.values(), *slow.values()]:
        fn()  # warm-up: allocator, kernels, DataLoader workers
    names = list(variants)
    for rep in range(args.repeats):
        order = (
            names[rep % len(names) :] + names[: rep % len(names)]
        )  # rotate, so drift hits all alike
        for name in order:
            seconds, inner = timed(variants[name])
            times[name].append(seconds)
            if name.startswith("hpt"):
                hpt_train_only.append(inner)
        if rep < args.loader_repeats:
            for name, fn in slow.items():
                times[name].append(timed(fn)[0])

    times["hpt fit (train only, own clock)"] = hpt_train_only
    med = {name: statistics.median(ts) for name, ts in times.items()}
    best = {name: min(ts) for name, ts in times.items()}
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"# hpt loop overhead  {dt.datetime.now().astimezone().isoformat(timespec='seconds')}")
    print(
        f"# {platform.processor() or platform.machine()}, {os.cpu_count()} cores, torch {torch.__version__} ({torch.get_num_threads()} threads), Python {platform.python_version()}, load avg {load:.2f}"
    )
    print(
        f"# data: {'MNIST' if root else 'mnist_tiny'} train {len(data.train):,} / val {len(data.val):,}, MLP 784-256-256-10, AdamW, batch {BATCH}, fp32 CPU"
    )
    print(
        f"# {args.repeats} epochs per variant ({args.loader_repeats} for DataLoader) after one warm-up epoch each\n"
    )
    width = max(len(n) for n in med)
    print(f"{'variant':<{width}}  median s/epoch  min s/epoch")
    for name in med:
        print(f"{name:<{width}}  {med[name]:14.3f}  {best[name]:11.3f}")
    print()
    hpt_train = "hpt fit (train only, own clock)"
    for label, stat in (("median", med), ("min", best)):
        print(
            f"hpt / hand, both with validation ({label}): {stat['hpt fit (train + val)'] / stat['hand (train + val)']:.3f}  (target <= 1.05)"
        )
        print(
            f"hpt / hand, training only        ({label}): {stat[hpt_train] / stat['hand (train only)']:.3f}"
        )
        for name in slow:
            print(
                f"{name.split(' (')[0]} / hpt, training only ({label}): {stat[name] / stat[hpt_train]:.2f}x"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
