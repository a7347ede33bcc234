"""Record full learning curves once, for the replay benchmark (benchmarks/replay.py).

A dense random sample of configurations from hpt's default search space (conf/search/tpe.yaml:
optimizer, lr, batch size, weight decay, dropout; momentum and nesterov for SGD), each trained
by hpt itself (``hpt.api.train``) for the full ``--epochs`` on a real-MNIST subset, one torch
thread. Every epoch's validation accuracy and seconds go into one CSV row, with the run's
overhead (build, data, test pass: its ``duration_s`` minus its epochs), so the replay can
charge simulated time without training anything.

The sample is fixed by ``--seed``; ``--shard I/K`` records every K-th configuration starting at
I, so K processes can share the cores; ``--merge`` joins the shards into one table.

    HPT_DATA_DIR=../shared/datasets python benchmarks/curves_record.py --shard 0/2 --out /tmp/c0.csv
    python benchmarks/curves_record.py --merge /tmp/c0.csv /tmp/c1.csv --out benchmarks/curves/mnist_mlp.csv
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import os
import random
import tempfile
import time
from pathlib import Path

FIELDS = [
    "config",
    "optimizer",
    "lr",
    "batch_size",
    "weight_decay",
    "dropout",
    "momentum",
    "nesterov",
    "epoch",
    "val_acc",
    "val_loss",
    "epoch_s",
    "overhead_s",
]


def sample(n: int, seed: int) -> list[dict[str, object]]:
    """``n`` configurations drawn uniformly (log-uniform where the space says log)."""
    rng = random.Random(seed)

    def log_uniform(lo: float, hi: float) -> float:
        return math.exp(rng.uniform(math.log(lo), math.log(hi)))

    out: list[dict[str, object]] = []
    for i in range(n):
        opt = rng.choice(["adamw", "sgd"])
        out.append(
            {
                "config": i,
                "optimizer": opt,
                "lr": log_uniform(1e-4, 3e-1),
                "batch_size": rng.choice([64, 128, 256]),
                "weight_decay": log_uniform(1e-6, 1e-2),
                "dropout": rng.uniform(0.0, 0.3),
                "momentum": rng.uniform(0.5, 0.99) if opt == "sgd" else "",
                "nesterov": rng.choice([True, False]) if opt == "sgd" else "",
            }
        )
    return out


def overrides(c: dict[str, object], epochs: int, subset: int) -> list[str]:
    ov = [
        f"optimizer={c['optimizer']}",
        f"optimizer.lr={c['lr']}",
        f"trainer.batch_size={c['batch_size']}",
        f"regularization.weight_decay={c['weight_decay']}",
        f"regularization.dropout={c['dropout']}",
        f"trainer.epochs={epochs}",
        f"data.subset={subset}",
        "trainer.save_last=false",
        "trainer.seed=0",
    ]
    if c["optimizer"] == "sgd":
        ov += [f"optimizer.momentum={c['momentum']}", f"optimizer.nesterov={c['nesterov']}"]
    return ov


def record(configs: list[dict[str, object]], epochs: int, subset: int, out: Path) -> None:
    import torch

    import hpt.api

    torch.set_num_threads(1)
    with out.open("w", newline="") as f, tempfile.TemporaryDirectory() as tmp:
        w = csv.DictWriter(f, FIELDS)
        w.writeheader()
        for c in configs:
            t0 = time.time()
            run = Path(tmp) / f"run{c['config']}"
            res = hpt.api.train(overrides(c, epochs, subset), run_dir=run)
            rows = [json.loads(x) for x in (run / "metrics.jsonl").read_text().splitlines()]
            overhead = max(0.0, float(res["duration_s"]) - sum(r["time/epoch_s"] for r in rows))
            for r in rows:  # a diverged run stops early: its curve is as long as it trained
                w.writerow(
                    {
                        **c,
                        "epoch": r["epoch"],
                        "val_acc": r.get("val/acc", 0.0),
                        "val_loss": r.get("val/loss"),
                        "epoch_s": round(r["time/epoch_s"], 4),
                        "overhead_s": round(overhead, 4),
                    }
                )
            f.flush()
            best = max(r.get("val/acc", 0.0) for r in rows)
            print(
                f"config {c['config']:4d}  {len(rows)} epochs  best {best:.4f}  {time.time() - t0:.1f} s",
                flush=True,
            )


def merge(parts: list[Path], out: Path) -> None:
    rows = [r for p in parts for r in csv.DictReader(p.open())]
    rows.sort(key=lambda r: (int(r["config"]), int(r["epoch"])))
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.open("w", newline="") as f:
        w = csv.DictWriter(f, FIELDS)
        w.writeheader()
        w.writerows(rows)
    print(f"{out}: {len({r['config'] for r in rows})} configurations, {len(rows)} epochs")


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--configs", type=int, default=360)
    p.add_argument("--epochs", type=int, default=9)
    p.add_argument("--subset", type=int, default=12000)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--shard", default="0/1")
    p.add_argument("--merge", nargs="+", type=Path)
    p.add_argument("--out", type=Path, required=True)
    a = p.parse_args()
    if a.merge:
        merge(a.merge, a.out)
        return
    i, k = (int(x) for x in a.shard.split("/"))
    print(f"load average before: {os.getloadavg()[0]:.2f}", flush=True)
    record(sample(a.configs, a.seed)[i::k], a.epochs, a.subset, a.out)
    print(f"load average after: {os.getloadavg()[0]:.2f}", flush=True)


if __name__ == "__main__":
    main()
