"""Runner overhead of `hpt sweep`: per-trial cost beyond the work of the trial itself.

Both sides run the same 200 one-step trials (a tiny MLP on the synthetic regression set,
one optimizer step, one validation pass) with the same sampler and the same kind of
storage (an Optuna journal file):
  (a) `hpt sweep` end to end (Hydra composition per trial, run directory, result files,
      accounting, heartbeat, live record), one worker;
  (b) a bare `study.optimize` loop whose objective builds and trains the same run from a
      config composed once.
The difference per trial is hpt's added overhead (target: <= 50 ms/trial).

Usage: python benchmarks/sweep_overhead.py [--trials 200]
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
SPACE = {"optimizer.lr": "tag(log, interval(1e-4, 1e-1))", "model.width": "choice(8, 16)"}
FIXED = [
    "data=regression",
    "data.n_samples=256",
    "trainer.batch_size=256",
    "trainer.epochs=1",
    "model.depth=1",
    "trainer.quiet=true",
]


def run_hpt(n: int, work: Path, name: str = "hpt") -> float:
    args = [f"{k}={v}" for k, v in SPACE.items()]
    cmd = [
        sys.executable,
        "-m",
        "hpt",
        "sweep",
        *FIXED,
        *args,
        "hydra/sweeper/sampler=random",
        "hydra.sweeper.sampler.seed=0",
        f"hydra.sweeper.n_trials={n}",
        f"hydra.sweep.dir={work / name}",
        "hydra.sweeper.max_failure_rate=1.0",
    ]
    t0 = time.perf_counter()
    subprocess.run(
        cmd, check=True, cwd=work, capture_output=True, env={**os.environ, "PYTHONPATH": str(REPO)}
    )
    return time.perf_counter() - t0


def run_bare(n: int, work: Path) -> tuple[float, float]:
    """Returns (startup seconds, loop seconds): imports and composition are paid once."""
    t0 = time.perf_counter()
    import optuna
    from hydra import compose, initialize_config_dir

    from hpt.build import build
    from hpt.cli.app import config_dir
    from hpt.config.schema import register
    from hpt.storage import open_storage
    from hpt.training.loop import fit

    register()
    with initialize_config_dir(config_dir=str(config_dir()), version_base="1.3"):
        base = compose("config", overrides=FIXED)
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    storage = open_storage(str(work / "bare.journal"))
    study = optuna.create_study(
        storage=storage, sampler=optuna.samplers.RandomSampler(seed=0), direction="minimize"
    )

    def objective(trial: optuna.Trial) -> float:
        cfg = base.copy()
        cfg.optimizer.lr = trial.suggest_float("optimizer.lr", 1e-4, 1e-1, log=True)
        cfg.model.width = trial.suggest_categorical("model.width", [8, 16])
        run = build(cfg)
        result = fit(run)
        assert result.best is not None
        return result.best["val/loss"]

    startup = time.perf_counter() - t0
    t1 = time.perf_counter()
    study.optimize(objective, n_trials=n)
    return startup, time.perf_counter() - t1


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--trials", type=int, default=200)
    n = parser.parse_args().trials
    import optuna
    import torch

    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        hpt_s = run_hpt(n, work)
        hpt_half = run_hpt(n // 2, work, "hpt_half")
        startup, bare_s = run_bare(n, work)
    # hpt's total includes its own process start and imports; count them like the bare startup.
    hpt_per = hpt_s / n * 1000
    bare_per = (bare_s + startup) / n * 1000
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, torch {torch.__version__}, optuna {optuna.__version__}"
    )
    print(f"trials: {n} one-step trials, journal storage, one worker")
    print(f"hpt sweep (whole command): {hpt_s:.1f} s  = {hpt_per:.1f} ms/trial")
    print(
        f"bare study.optimize:       {bare_s + startup:.1f} s  = {bare_per:.1f} ms/trial  (startup {startup:.1f} s, loop {bare_s:.1f} s)"
    )
    print(
        f"added overhead:            {hpt_per - bare_per:.1f} ms/trial   ratio hpt/bare {hpt_s / (bare_s + startup):.2f}"
    )
    marginal = (hpt_s - hpt_half) / (n - n // 2) * 1000
    bare_loop = bare_s / n * 1000
    print(
        f"marginal cost of one more trial (process start excluded): hpt {marginal:.1f} ms vs bare {bare_loop:.1f} ms -> added {marginal - bare_loop:.1f} ms/trial"
    )


if __name__ == "__main__":
    main()
