"""Does a sweep hand over a better model? hpt's tuned model against its untuned default and
scikit-learn's own models, on the same splits.

For each dataset and split seed, the table is split 75/25 (stratified for classes) with
scikit-learn's ``train_test_split`` and written to CSV; then, on the same files:

  default    ``hpt train data=table`` with hpt's defaults
  tuned      ``hpt sweep search=table`` (``--trials`` trials): the model it hands over (its
             refit SWEEP/best/, or the chosen trial's own model when it made none)
  chosen     the chosen trial's own test metric (mean over its folds' models)
  baseline   the sweep's baseline trial's own test metric (the base config)
  linear     scaled LogisticRegression (classes) / Ridge (regression)
  hgb        HistGradientBoosting
  mlp        scaled MLPClassifier / MLPRegressor

The test metric is accuracy for classification and R² for regression. The datasets are
scikit-learn's bundled breast_cancer, wine, digits and diabetes, a synthetic classification
table (make_classification) and the 2,500 real MNIST images (a subset) of the MNIST digits hpt ships (its
784 pixels as columns).

Each line of ``--out`` (JSON lines) is one (dataset, seed, method) result; the summary
table (mean ± std over seeds, and the targets of issue 29) is printed and written beside it
as Markdown.

Usage:
  .venv/bin/python benchmarks/tuning_outcome.py --seeds 5 --trials 20
  .venv/bin/python benchmarks/tuning_outcome.py --datasets breast_cancer --seeds 1 --trials 4  # smoke
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
HPT = [sys.executable, "-m", "hpt"]


def dataset(name: str) -> tuple[pd.DataFrame, str]:
    """The table and its problem (``classification`` or ``regression``); target column ``y``."""
    from sklearn import datasets

    if name == "synthetic":
        x, y = datasets.make_classification(
            n_samples=600, n_features=20, n_informative=8, n_redundant=4, random_state=0
        )
        frame = pd.DataFrame(x, columns=[f"x{i}" for i in range(x.shape[1])])
        frame["y"] = y
        return frame, "classification"
    if name == "mnist_subset":
        with np.load(HERE.parent / "hpt" / "assets" / "mnist_tiny.npz") as f:
            x = np.concatenate([f["train_images"], f["test_images"]]).reshape(-1, 784)
            y = np.concatenate([f["train_labels"], f["test_labels"]])
        frame = pd.DataFrame((x[:2500] / 255.0).round(4))
        frame.columns = [f"p{i}" for i in range(784)]
        frame["y"] = y[:2500]
        return frame, "classification"
    loaded = getattr(datasets, f"load_{name}")(as_frame=True)
    frame = loaded.frame.rename(columns={"target": "y"})
    return frame, "regression" if name == "diabetes" else "classification"


def split(frame: pd.DataFrame, problem: str, seed: int, where: Path) -> tuple[Path, Path]:
    """75/25 train/test CSVs of ``frame`` for ``seed``."""
    from sklearn.model_selection import train_test_split

    strat = frame["y"] if problem == "classification" else None
    train, test = train_test_split(frame, test_size=0.25, random_state=seed, stratify=strat)
    paths = where / "train.csv", where / "test.csv"
    train.to_csv(paths[0], index=False)
    test.to_csv(paths[1], index=False)
    return paths


def sklearn_scores(train: Path, test: Path, problem: str, seed: int) -> dict[str, float]:
    """scikit-learn's linear model, HistGradientBoosting and MLP, each on the same split."""
    from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor
    from sklearn.linear_model import LogisticRegression, Ridge
    from sklearn.neural_network import MLPClassifier, MLPRegressor
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    tr, te = pd.read_csv(train), pd.read_csv(test)
    x, y, xt, yt = tr.drop(columns="y"), tr["y"], te.drop(columns="y"), te["y"]
    clf = problem == "classification"
    models = {
        "linear": make_pipeline(
            StandardScaler(), LogisticRegression(max_iter=2000) if clf else Ridge()
        ),
        "hgb": (HistGradientBoostingClassifier if clf else HistGradientBoostingRegressor)(
            random_state=seed
        ),
        "mlp": make_pipeline(
            StandardScaler(),
            (MLPClassifier if clf else MLPRegressor)(max_iter=2000, random_state=seed),
        ),
    }
    return {k: float(m.fit(x, y).score(xt, yt)) for k, m in models.items()}


def run_hpt(args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    """One hpt command in ``cwd``; its failure ends the benchmark with hpt's own message."""
    ran = subprocess.run([*HPT, *args], cwd=cwd, capture_output=True, text=True)
    if ran.returncode != 0:
        raise SystemExit(f"hpt {' '.join(args)} failed:\n{ran.stderr[-2000:]}")
    return ran


def metric(test: dict[str, Any], problem: str) -> float:
    """Accuracy or R² from a test-metrics block."""
    return float(test["test/acc" if problem == "classification" else "test/r2"])


def hpt_scores(
    where: Path, problem: str, trials: int, extra: list[str] | None = None
) -> dict[str, Any]:
    """hpt train's default model, and the sweep's refit, chosen and baseline trials."""
    data = ["data=table", "data.path=train.csv", "data.test_path=test.csv", "data.target=y"]
    t0 = time.perf_counter()
    run_hpt(["train", *data, "trainer.quiet=true", "hydra.run.dir=default"], where)
    t_default = time.perf_counter() - t0
    default = json.loads((where / "default" / "result.json").read_text())["test"]
    t0 = time.perf_counter()
    sweep_args = [
        "sweep",
        "search=table",
        *data,
        f"hydra.sweeper.n_trials={trials}",
        # every trial tested, for the chosen and baseline columns only: trials do not test by
        # default (issue 33), and the test metrics take no part in any choice either way
        "trainer.test=true",
        *(extra or []),
    ]
    ran = run_hpt([*sweep_args, "hydra.sweep.dir=sweep"], where)
    t_sweep = time.perf_counter() - t0
    record = json.loads((where / "sweep" / "sweep.json").read_text())
    best, base = record["best"][0], record.get("baseline")

    def trial_test(trial: dict[str, Any] | None) -> float | None:
        if trial is None:
            return None
        result = json.loads((where / "sweep" / trial["dir"] / "result.json").read_text())
        test = (result.get("cv") or {}).get("test_mean") or result.get("test")
        return metric(test, problem)

    noise = [line for line in ran.stdout.splitlines() if "baseline" in line]
    return {
        "default": metric(default, problem),
        # the refit when the sweep made one (refit=auto: cross-validated trials), else the
        # chosen trial's own model, which is what predict/eval/export use then
        "tuned": metric(record["refit"]["test"], problem)
        if "refit" in record
        else trial_test(best),
        "refit": "refit" in record,
        "chosen": trial_test(best),
        "baseline": trial_test(base),
        "within_noise": bool(noise and "not distinguishable" in noise[-1]),
        "baseline_is_best": base is not None and base["number"] == best["number"],
        "seconds": {"default": round(t_default, 1), "sweep": round(t_sweep, 1)},
    }


def summarize(rows: list[dict[str, Any]]) -> str:
    """Mean ± std per dataset and method, as Markdown."""
    methods = ["default", "tuned", "chosen", "baseline", "linear", "hgb", "mlp"]
    out = ["| dataset | metric | " + " | ".join(methods) + " |", "|---" * (len(methods) + 2) + "|"]
    by: dict[str, list[dict[str, Any]]] = {}
    for r in rows:
        by.setdefault(r["dataset"], []).append(r)
    for name, rs in by.items():
        cells = []
        for m in methods:
            v = [r[m] for r in rs if r.get(m) is not None]
            sd = statistics.stdev(v) if len(v) > 1 else 0.0
            cells.append(f"{statistics.fmean(v):.4f} ± {sd:.4f}" if v else "-")
        unit = "R²" if rs[0]["problem"] == "regression" else "acc"
        out.append(f"| {name} ({len(rs)} seeds) | {unit} | " + " | ".join(cells) + " |")
    return "\n".join(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--datasets",
        nargs="*",
        default=["breast_cancer", "wine", "digits", "diabetes", "synthetic", "mnist_subset"],
    )
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--trials", type=int, default=20)
    parser.add_argument("--out", type=Path, default=HERE / "results" / "tuning_outcome.jsonl")
    parser.add_argument(
        "--sweep-override", action="append", default=[], help="one more override for the sweep"
    )
    args = parser.parse_args()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    done = (
        [json.loads(line) for line in args.out.read_text().splitlines()]
        if args.out.exists()
        else []
    )
    have = {(r["dataset"], r["seed"]) for r in done}
    frames = {name: dataset(name) for name in args.datasets}
    for seed in range(args.seeds):  # every dataset at each seed first: a cut run stays broad
        for name, (frame, problem) in frames.items():
            if (name, seed) in have:
                continue
            with tempfile.TemporaryDirectory() as tmp:
                where = Path(tmp)
                train, test = split(frame, problem, seed, where)
                row = {"dataset": name, "seed": seed, "problem": problem, "rows": len(frame)}
                row.update(sklearn_scores(train, test, problem, seed))
                row.update(hpt_scores(where, problem, args.trials, args.sweep_override))
                row["sweep_overrides"] = args.sweep_override
                row["load"] = os.getloadavg()[0]
            done.append(row)
            with args.out.open("a") as f:
                f.write(json.dumps(row) + "\n")
            print(json.dumps(row), flush=True)
    table = summarize(done)
    print(table)
    args.out.with_suffix(".md").write_text(table + "\n")


if __name__ == "__main__":
    main()
