"""hpt's own cost per sweep trial: everything in a trial that is not its epochs.

`hpt sweep` runs N one-epoch random-search trials of the default MLP on a real-MNIST subset in
one worker (n_jobs=1), as a user would type it. The epochs' own seconds (training plus
validation, each trial's ``time/epoch_s`` in metrics.jsonl) are subtracted from the whole
command's wall time; what is left, divided by N, is hpt's per-trial cost with its start-up
(process start, imports, data load, the study) amortised over the N trials (target: <= 0.1 s).
A second sweep of N/4 trials splits it into a marginal cost per trial and the start-up.

``--base DIR`` runs another checkout of hpt (e.g. a git worktree of an older commit) side by
side, alternating with this one, so both face the same machine load; ``--profile`` adds one
cProfile run of this checkout and prints where the non-epoch time goes.

Usage:
  HPT_DATA_DIR=../shared/datasets .venv/bin/python benchmarks/trial_cost.py [--trials 40]
      [--repeats 3] [--base ../base] [--profile]
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
ARGS = [
    "hydra/sweeper/sampler=random",
    "hydra.sweeper.sampler.seed=0",
    "optimizer.lr=tag(log, interval(1e-4, 1e-1))",
    "trainer.epochs=1",
    "data.subset=6000",
]
# where a trial's non-epoch seconds go: (label, pstats function keys whose cumulative time counts)
BUCKETS = [
    ("the job around the task", ["hpt/sweep/running/job.py:run_own_job"], ["hpt/train.py:task"]),
    ("compose the trial's config", ["hpt/sweep/running/trial.py:_compose"], []),
    ("build the run (validate, data split, model)", ["hpt/supervised.py:build"], []),
    ("best.pt, preprocessing.json", ["hpt/supervised.py:_keep_best"], []),
    ("last.pt", ["hpt/training/resume.py:save"], []),
    ("run files (manifest, metrics, result)", ["hpt/record.py:finish"], []),
    ("the study's bookkeeping (tell, attrs)", ["hpt/sweep/running/verdict.py:conclude"], []),
]


def sweep(python_path: Path, n: int, work: Path, name: str, profile: Path | None) -> float:
    """Wall seconds of one `hpt sweep` command of ``n`` trials run from ``python_path``."""
    pre = ["-m", "cProfile", "-o", str(profile)] if profile else []
    cmd = [sys.executable, *pre, "-m", "hpt", "sweep", *ARGS, f"hydra.sweeper.n_trials={n}"]
    cmd.append(f"hydra.sweep.dir={work / name}")
    env = {**os.environ, "PYTHONPATH": str(python_path)}
    t0 = time.perf_counter()
    subprocess.run(cmd, check=True, cwd=work, capture_output=True, env=env)
    return time.perf_counter() - t0


def epoch_seconds(sweep_dir: Path) -> tuple[float, int]:
    """The sum of every trial's epoch seconds, and the number of trials that recorded one."""
    total, trials = 0.0, 0
    for metrics in sorted(sweep_dir.glob("trial_*/metrics.jsonl")):
        rows = [json.loads(line) for line in metrics.read_text().splitlines() if line.strip()]
        total += sum(float(r["time/epoch_s"]) for r in rows)
        trials += 1
    return total, trials


def measure(python_path: Path, n: int, work: Path, name: str) -> dict[str, float]:
    """One sweep of ``n`` trials and one of ``n // 4``: hpt's own cost per trial with the
    start-up amortised, and apart (the marginal cost of a trial, and the start-up)."""
    load = os.getloadavg()[0]
    own = {}
    for k in (n, n // 4):
        wall = sweep(python_path, k, work, f"{name}-{k}", None)
        epochs, trials = epoch_seconds(work / f"{name}-{k}")
        assert trials == k, f"{name}: {trials} of {k} trials recorded an epoch"
        own[k] = wall - epochs
    marginal = (own[n] - own[n // 4]) / (n - n // 4)
    return {
        "own_s_per_trial": own[n] / n,
        "marginal_s_per_trial": marginal,
        "startup_s": own[n] - n * marginal,
        "load": load,
    }


def _cumulative(stats: object, key: str) -> float:
    path, func = key.rsplit(":", 1)
    total = 0.0
    for (file, _line, name), row in stats.stats.items():  # type: ignore[attr-defined]
        if name == func and file.endswith(path):
            total += row[3]
    return total


def profile(n: int, work: Path) -> None:
    import pstats

    out = work / "trial_cost.prof"
    wall = sweep(REPO, n, work, "profiled", out)
    epochs, _ = epoch_seconds(work / "profiled")
    stats = pstats.Stats(str(out))
    trials = _cumulative(stats, "hpt/sweep/running/trial.py:run_trial")
    print(f"\nprofile (cProfile inflates Python-heavy parts): wall {wall:.1f} s, {n} trials")
    print(f"  start-up and end (outside trials) {(wall - trials) / n * 1000:7.1f} ms/trial")
    print(f"  epochs (train + val)              {epochs / n * 1000:7.1f} ms/trial")
    for label, plus, minus in BUCKETS:
        ms = sum(_cumulative(stats, k) for k in plus) - sum(_cumulative(stats, k) for k in minus)
        print(f"  {label:<34.34} {ms / n * 1000:7.1f} ms/trial")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--trials", type=int, default=40)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--base", type=Path, help="another hpt checkout, run side by side")
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--out", type=Path, help="append the runs as JSON lines")
    a = parser.parse_args()
    if not os.environ.get("HPT_DATA_DIR"):
        sys.exit("set HPT_DATA_DIR to the folder holding MNIST/raw (../shared/datasets)")
    import optuna
    import torch

    sides = {"this": REPO, **({"base": a.base.resolve()} if a.base else {})}
    runs: dict[str, list[dict[str, float]]] = {k: [] for k in sides}
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        for r in range(a.repeats):
            order = list(sides) if r % 2 == 0 else list(reversed(sides))
            for side in order:
                row = measure(sides[side], a.trials, work, f"{side}{r}")
                runs[side].append(row)
                print(f"{side:>4} run {r}: " + "  ".join(f"{k} {v:.3f}" for k, v in row.items()))
                if a.out:
                    with a.out.open("a") as f:
                        f.write(json.dumps({"side": side, "path": str(sides[side]), **row}) + "\n")
        print(
            f"\n{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
            f"torch {torch.__version__}, optuna {optuna.__version__}; {a.trials} one-epoch trials, "
            "6,000 MNIST images, n_jobs=1"
        )
        for side, rows in runs.items():
            own, marginal, start = (
                statistics.median(x[k] for x in rows)
                for k in ("own_s_per_trial", "marginal_s_per_trial", "startup_s")
            )
            loads = ", ".join(f"{x['load']:.1f}" for x in rows)
            print(
                f"{side:>4}: hpt's own cost {own * 1000:.0f} ms/trial over {a.trials} trials "
                f"(marginal {marginal * 1000:.0f} ms, start-up {start:.2f} s; medians), "
                f"load {loads}"
            )
        if a.profile:
            profile(a.trials, work)


if __name__ == "__main__":
    main()
