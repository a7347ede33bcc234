"""k-fold cross-validation (`trainer.folds`) and repeated seeds (`trainer.repeats`)."""

from __future__ import annotations

import statistics
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
import torch
from helpers import compose_config

from hpt.build import build, load_dataset
from hpt.errors import UserError
from hpt.rundir import read_json, read_jsonl
from hpt.train import run
from hpt.training import reporter as reporting
from hpt.training.cv import fold_indices

TINY = ["data=mnist_tiny", "data.subset=600", "trainer.quiet=true"]


def train(
    tmp_path: Path, name: str, *overrides: str
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    outcome = run(compose_config([*TINY, *overrides]), tmp_path / name)
    assert outcome.run_dir == str(tmp_path / name)
    result = read_json(tmp_path / name / "result.json")
    assert result is not None
    return result, read_jsonl(tmp_path / name / "metrics.jsonl")


def test_folds_partition_the_training_set() -> None:
    n, k = 103, 4
    vals = [fold_indices(n, k, i, seed=7)[1] for i in range(k)]
    for i in range(k):
        train_idx, val_idx = fold_indices(n, k, i, seed=7)
        assert set(train_idx.tolist()).isdisjoint(val_idx.tolist())
        assert sorted(train_idx.tolist() + val_idx.tolist()) == list(range(n))
    every = torch.cat(vals).tolist()
    assert sorted(every) == list(range(n))  # each row validates exactly once: disjoint, covering
    assert max(len(v) for v in vals) - min(len(v) for v in vals) <= 1
    assert fold_indices(n, k, 2, seed=7)[1].tolist() == vals[2].tolist()  # reproducible per seed
    assert fold_indices(n, k, 2, seed=8)[1].tolist() != vals[2].tolist()

    # Classes: stratified, every fold holds each class in its share (counts differ by <= 1)
    labels = torch.tensor([0] * 60 + [1] * 31 + [2] * 12)[torch.randperm(n)]
    strat = [fold_indices(n, k, i, seed=7, labels=labels) for i in range(k)]
    assert sorted(torch.cat([v for _, v in strat]).tolist()) == list(range(n))
    for c, rows in ((0, 60), (1, 31), (2, 12)):
        counts = [int((labels[v] == c).sum()) for _, v in strat]
        assert sum(counts) == rows and max(counts) - min(counts) <= 1, (c, counts)
    for train_idx, val_idx in strat:
        assert sorted(train_idx.tolist() + val_idx.tolist()) == list(range(n))
    with pytest.raises(UserError, match="more than the 12 training rows of the smallest class"):
        fold_indices(n, 13, 0, seed=7, labels=labels)

    # Through the data loader: the folds come from the training set, the test set is untouched.
    full = load_dataset("mnist_tiny", "classification", val_split=0.1, seed=0, subset=300)
    n_full = len(full.train) + len(full.val)
    folds = [
        load_dataset(
            "mnist_tiny", "classification", val_split=0.1, seed=0, subset=300, folds=3, fold=i
        )
        for i in range(3)
    ]
    assert sum(len(d.val) for d in folds) == n_full
    assert all(len(d.train) + len(d.val) == n_full for d in folds)
    assert all(torch.equal(d.test.x, full.test.x) for d in folds)


def test_kfold_objective_is_the_mean_of_the_folds(tmp_path: Path) -> None:
    result, rows = train(tmp_path, "cv", "trainer.epochs=2", "trainer.folds=3")
    cv = result["cv"]
    assert result["status"] == "COMPLETE" and cv["folds"] == 3 and cv["completed"] == 3
    assert len(cv["values"]) == 3
    assert cv["mean"] == pytest.approx(sum(cv["values"]) / 3)
    assert cv["std"] == pytest.approx(statistics.stdev(cv["values"]))
    assert result["objective"]["value"] == pytest.approx(cv["mean"])
    assert result["best"]["val/acc"] == pytest.approx(cv["mean"])
    # metrics.jsonl: every fold's epochs, tagged; each fold's value is its best epoch.
    assert [r["fold"] for r in rows] == [0, 0, 1, 1, 2, 2] and [r["epoch"] for r in rows] == [
        1,
        2,
    ] * 3
    for fold, value in enumerate(cv["values"]):
        assert value == pytest.approx(max(r["val/acc"] for r in rows if r["fold"] == fold))
    assert len(cv["test"]) == 3 and set(result["test"]) == {"test/loss", "test/acc"}
    assert result["test"] == cv["test"][cv["selected"]]  # the checkpointed member's test metrics
    assert (tmp_path / "cv" / "checkpoints" / "best.pt").is_file()


def test_repeats_record_each_seed(tmp_path: Path) -> None:
    result, rows = train(tmp_path, "rep", "trainer.epochs=1", "trainer.repeats=3", "trainer.seed=5")
    rep = result["repeats"]
    assert rep["k"] == 3 and rep["seeds"] == [5, 6, 7] and len(rep["values"]) == 3
    assert rep["mean"] == pytest.approx(statistics.fmean(rep["values"]))
    assert rep["std"] == pytest.approx(statistics.stdev(rep["values"]))
    assert result["objective"]["value"] == pytest.approx(rep["mean"])
    assert [(r["repeat"], r["seed"]) for r in rows] == [(0, 5), (1, 6), (2, 7)]
    assert result["params"]["trainer.seed"] == 5 and result["params"]["trainer.repeats"] == 3
    # A member is exactly the plain run with that seed.
    single, _ = train(tmp_path, "seed6", "trainer.epochs=1", "trainer.seed=6")
    assert single["objective"]["value"] == pytest.approx(rep["values"][1])


class PruneAtFirstReport:
    def __init__(self) -> None:
        self.calls: list[tuple[int, float]] = []

    def report(self, epoch: int, value: float, metrics: Mapping[str, float]) -> bool:
        self.calls.append((epoch, value))
        return True


def test_folds_report_the_running_mean_once_per_fold(tmp_path: Path) -> None:
    reporter = PruneAtFirstReport()
    reporting.set_current(reporter)
    try:
        result, rows = train(tmp_path, "pruned", "trainer.epochs=2", "trainer.folds=3")
    finally:
        reporting.set_current(None)
    # One report after the first fold (step 1, its best value), not one per epoch; then pruned.
    assert reporter.calls == [(1, pytest.approx(result["cv"]["values"][0]))]
    assert result["status"] == "PRUNED" and result["cv"]["completed"] == 1
    assert {r["fold"] for r in rows} == {0}


def test_folds_with_repeats_and_bad_counts_are_refused() -> None:
    with pytest.raises(UserError, match="cannot both"):
        build(compose_config([*TINY, "trainer.folds=3", "trainer.repeats=2"]))
    with pytest.raises(UserError, match=">= 1"):
        build(compose_config([*TINY, "trainer.folds=0"]))
    with pytest.raises(UserError, match="too many"):
        build(compose_config([*TINY, "data.subset=10", "trainer.folds=8"]))
    with pytest.raises(UserError, match="training rows of the smallest class"):
        build(compose_config([*TINY, "data.subset=40", "trainer.folds=10"]))
