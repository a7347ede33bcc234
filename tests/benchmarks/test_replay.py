"""benchmarks/replay.py on the committed learning-curve table: small, in process, no training.

The replay is how hpt's sampler and pruner defaults were chosen (BENCHMARKS.md), so its
mechanics are tested here: equal-compute budgets, pruning that saves time, best-so-far curves
that only rise, and hpt's own baseline trial answered by its nearest recorded neighbour.
"""

from __future__ import annotations

import importlib.util
import sys

import pytest
from helpers import REPO

SCRIPT = REPO / "benchmarks" / "replay.py"


@pytest.fixture(scope="module")
def replay():  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location("replay", SCRIPT)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules["replay"] = module  # dataclasses look their module up by name
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def surrogate(replay):  # type: ignore[no-untyped-def]
    return replay.Surrogate(replay.load(replay.TABLE))


def test_the_table_holds_full_curves_of_the_default_space(replay) -> None:  # type: ignore[no-untyped-def]
    curves = replay.load(replay.TABLE)
    assert len(curves) >= 300
    assert {c.params["optimizer"] for c in curves} == {"adamw", "sgd"}
    assert {c.params["trainer.batch_size"] for c in curves} == {64, 128, 256}
    full = [c for c in curves if len(c.acc) == 9]
    assert len(full) >= 0.9 * len(curves)  # only diverged runs stop early
    assert max(max(c.acc) for c in curves) > 0.95 and min(max(c.acc) for c in curves) < 0.5


def test_the_baseline_is_answered_by_its_nearest_recorded_neighbour(replay, surrogate) -> None:  # type: ignore[no-untyped-def]
    curve = surrogate(replay.BASELINE)
    assert curve.params["optimizer"] == "adamw" and curve.params["trainer.batch_size"] == 128
    lr = curve.params["optimizer.lr"]
    others = surrogate.cells[("adamw", 128)]
    # no recorded AdamW/128 point is nearer to lr 1e-3, weight decay 1e-6 and dropout 0
    x = replay._features(replay.BASELINE)
    d = sum((a - b) ** 2 for a, b in zip(replay._features(curve.params), x, strict=True))
    assert all(sum((a - b) ** 2 for a, b in zip(f, x, strict=True)) >= d for f, _ in others)
    assert 1e-4 < lr < 1e-2


def test_random_search_reference_and_equal_time_replays(replay, surrogate) -> None:  # type: ignore[no-untyped-def]
    ref = replay.Job("random", "none", 1, 0, 9, 0.0, 12, False, 0.05)
    out = replay.simulate(ref, surrogate)
    budget = replay._random_time(ref, surrogate)
    assert out.trials == 12 and out.pruned == 0 and 12 <= out.epochs <= 12 * 9
    assert out.points and out.points[-1][0] <= budget
    assert [b for _, b in out.points] == sorted(b for _, b in out.points)  # best so far only rises
    runs = {}
    for pruner in ("none", "hyperband"):
        for workers in (1, 2):
            job = replay.Job("tpe", pruner, workers, 0, 9, budget / workers, 0, True, 0.05)
            runs[pruner, workers] = replay.simulate(job, surrogate)
            assert runs[pruner, workers].points[-1][0] <= budget / workers
    # the baseline trial is trial 0: the first best is the baseline's first epoch
    first = surrogate(replay.BASELINE).acc[0]
    assert runs["none", 1].points[0][1] == pytest.approx(first)
    # pruning buys more trials in the same time, at no cost in epochs trained
    assert runs["hyperband", 1].pruned > 0 and runs["none", 1].pruned == 0
    assert runs["hyperband", 1].trials > runs["none", 1].trials


def test_a_replay_is_repeatable(replay, surrogate) -> None:  # type: ignore[no-untyped-def]
    # Hyperband brackets hash the study name: a replay names its study, as hpt's sweeps do.
    job = replay.Job("tpe", "hyperband", 1, 5, 9, 60.0, 0, True, 0.05)
    assert replay.simulate(job, surrogate) == replay.simulate(job, surrogate)
