"""Search efficiency on real MNIST: TPE + Hyperband vs random search vs grid, equal budgets.

Every strategy searches the same space (conf/search/tpe.yaml: optimizer, lr, batch size,
weight decay, dropout, sgd-only momentum/nesterov) for the same number of trials of up to
`--epochs` epochs each, on a real-MNIST subset, one worker, several sampler seeds. Cost is
counted in epochs actually trained (pruned trials stop early), read from each trial's
metrics.jsonl. Reported: random search's best validation accuracy after N trials and its
epoch budget, and how many epochs TPE+Hyperband needed to first reach that accuracy.

Usage: HPT_DATA_DIR=../shared/datasets python benchmarks/search_efficiency.py [--seeds 3]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent

STRATEGIES = {
    "random": ["search=random"],  # the same space as search=tpe, RandomSampler, no pruner
    "tpe+hyperband": ["search=tpe"],  # TPE sampler, Hyperband pruner (min 1 epoch, factor 3)
    "grid": ["search=grid"],  # 2 optimizers x 3 lrs x 2 batch sizes = 12 points
}


def run(
    strategy: str, seed: int, trials: int, epochs: int, subset: int, work: Path
) -> list[tuple[int, float]]:
    """(epochs trained, best val/acc of that trial) per trial, in trial order."""
    sweep_dir = work / f"{strategy}-{seed}"
    cmd = [
        sys.executable,
        "-m",
        "hpt",
        "sweep",
        *STRATEGIES[strategy],
        f"hydra.sweeper.sampler.seed={seed}",
        f"hydra.sweeper.n_trials={trials}",
        f"trainer.epochs={epochs}",
        f"data.subset={subset}",
        f"trainer.seed={seed}",
        f"hydra.sweep.dir={sweep_dir}",
        "hydra.sweeper.max_failure_rate=1.0",
    ]
    subprocess.run(
        cmd, check=True, cwd=work, capture_output=True, env={**os.environ, "PYTHONPATH": str(REPO)}
    )
    out = []
    for d in sorted(sweep_dir.glob("trial_*")):
        result = json.loads((d / "result.json").read_text())
        lines = (
            (d / "metrics.jsonl").read_text().splitlines() if (d / "metrics.jsonl").exists() else []
        )
        best = max((json.loads(x).get("val/acc", 0.0) for x in lines), default=0.0)
        out.append((result["trial"]["number"], len(lines), best))
    return [(e, b) for _, e, b in sorted(out)]


def curve(trials: list[tuple[int, float]]) -> list[tuple[int, float]]:
    """Cumulative epochs -> best val/acc so far."""
    spent, best, points = 0, 0.0, []
    for epochs, acc in trials:
        spent += epochs
        best = max(best, acc)
        points.append((spent, best))
    return points


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--seeds", type=int, default=3)
    p.add_argument("--trials", type=int, default=16)
    p.add_argument("--epochs", type=int, default=4)
    p.add_argument("--subset", type=int, default=12000)
    a = p.parse_args()
    t0 = time.time()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for seed in range(a.seeds):
            # Equal epoch budgets: TPE+Hyperband may start more trials (pruned ones are cheap),
            # and its curve is cut at random search's budget.
            res = {
                s: curve(
                    run(
                        s,
                        seed,
                        a.trials * (3 if s == "tpe+hyperband" else 1),
                        a.epochs,
                        a.subset,
                        Path(tmp),
                    )
                )
                for s in STRATEGIES
            }
            r_epochs, r_best = res["random"][-1]
            res["tpe+hyperband"] = [pt for pt in res["tpe+hyperband"] if pt[0] <= r_epochs] or res[
                "tpe+hyperband"
            ][:1]
            reach = next((e for e, b in res["tpe+hyperband"] if b >= r_best), None)
            rows.append((seed, r_best, r_epochs, res["tpe+hyperband"][-1], reach, res["grid"][-1]))
            print(
                f"seed {seed}: random best {r_best:.4f} in {r_epochs} epochs | tpe+hb best {res['tpe+hyperband'][-1][1]:.4f} "
                f"in {res['tpe+hyperband'][-1][0]} epochs, reached random's best after {reach} epochs | "
                f"grid best {res['grid'][-1][1]:.4f} in {res['grid'][-1][0]} epochs",
                flush=True,
            )
    import torch

    print(
        f"\nmachine: {platform.machine()}, {os.cpu_count()} cores, torch {torch.__version__}; real MNIST subset {a.subset} "
        f"(val 10%), MLP, {a.trials} trials x <= {a.epochs} epochs, {a.seeds} seeds, {time.time() - t0:.0f} s"
    )
    fractions = [r[4] / r[2] for r in rows if r[4] is not None]
    print(
        f"random: best {statistics.mean(r[1] for r in rows):.4f} mean, {statistics.mean(r[2] for r in rows):.0f} epochs"
    )
    print(
        f"tpe+hyperband: best {statistics.mean(r[3][1] for r in rows):.4f} mean, {statistics.mean(r[3][0] for r in rows):.0f} epochs"
    )
    print(
        f"grid: best {statistics.mean(r[5][1] for r in rows):.4f} mean, {statistics.mean(r[5][0] for r in rows):.0f} epochs"
    )
    print(
        f"tpe+hyperband reached random's best in {len(fractions)}/{len(rows)} seeds, "
        f"using {', '.join(f'{f:.0%}' for f in fractions)} of random's epoch budget"
    )


if __name__ == "__main__":
    main()
