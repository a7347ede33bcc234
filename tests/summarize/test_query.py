"""Key resolution, --where filters and --sort ordering."""

from __future__ import annotations

from pathlib import Path

import pytest
from helpers.summarize_fixtures import write_run, write_sweep

from hpt.summarize.collect import collect_runs
from hpt.summarize.query import (
    QueryError,
    apply_where,
    parse_where,
    rank_runs,
    resolve_key,
    sort_runs,
)

COLUMNS = [
    "run",
    "status",
    "value",
    "best.val/acc",
    "best.val/loss",
    "test.test/acc",
    "final.lr",
    "params.optimizer.lr",
    "params.scheduler.lr_min",
    "params.optimizer.name",
    "params.optimizer._target_",
    "params.model._target_",
    "params.trainer.seed",
]


@pytest.mark.parametrize(
    ("key", "column"),
    [
        ("status", "status"),
        ("params.optimizer.lr", "params.optimizer.lr"),
        ("optimizer.lr", "params.optimizer.lr"),
        ("lr", "params.optimizer.lr"),  # unique suffix (lr_min is not a suffix match)
        ("val/acc", "value"),  # the objective
        ("val/loss", "best.val/loss"),
        ("test/acc", "test.test/acc"),
        ("seed", "params.trainer.seed"),
        ("optimizer", "params.optimizer.name"),  # config group -> its choice name
        ("model", "params.model._target_"),  # ... or its class path
    ],
)
def test_resolve_key(key: str, column: str) -> None:
    assert resolve_key(key, COLUMNS, ["val/acc"]) == column


def test_resolve_key_errors_name_candidates() -> None:
    with pytest.raises(QueryError, match=r"ambiguous key '_target_'.*model\._target_"):
        resolve_key("_target_", COLUMNS)
    with pytest.raises(QueryError, match=r"unknown key 'optimiser.lr' \(did you mean optimizer.lr"):
        resolve_key("optimiser.lr", COLUMNS)


@pytest.fixture
def runs(tmp_path: Path):
    sweep = write_sweep(tmp_path / "s")
    specs = [
        ("trial_0000", "COMPLETE", 0.99, "adamw", "torch.optim.AdamW", 0.001),
        ("trial_0001", "COMPLETE", 0.97, "sgd", "torch.optim.SGD", 0.1),
        ("trial_0002", "COMPLETE", 0.985, "adam", "torch.optim.Adam", 0.003),
        ("trial_0003", "PRUNED", 0.60, "adamw", "torch.optim.AdamW", 0.05),
        ("trial_0004", "FAIL", None, "sgd", "torch.optim.SGD", 1.0),
    ]
    for i, (name, status, value, opt, target, lr) in enumerate(specs):
        write_run(
            sweep / name,
            status=status,
            value=value,
            trial=i,
            params={"optimizer.name": opt, "optimizer._target_": target, "optimizer.lr": lr},
        )
    return collect_runs([sweep])


def _where(collection, *exprs: str) -> list[str]:
    frame = collection.frame
    conditions = [parse_where(e, frame.columns, list(collection.directions)) for e in exprs]
    return sorted(apply_where(frame, conditions)["name"])


def test_where_numeric_string_and_choice_semantics(runs) -> None:
    assert _where(runs, "val/acc>0.98") == ["trial_0000", "trial_0002"]
    assert _where(runs, "val/acc >= 0.97", "val/acc<0.99") == ["trial_0001", "trial_0002"]
    # "adamw" matches the choice name and (via the last dotted part) torch.optim.AdamW,
    # but never "adam" (whole components only).
    assert _where(runs, "optimizer=adamw") == ["trial_0000", "trial_0003"]
    assert _where(runs, "optimizer._target_=AdamW") == ["trial_0000", "trial_0003"]
    assert _where(runs, "optimizer=adam") == ["trial_0002"]
    assert _where(runs, "status=complete") == ["trial_0000", "trial_0001", "trial_0002"]
    assert _where(runs, "status!=COMPLETE") == ["trial_0003", "trial_0004"]
    assert _where(runs, "lr<=0.003") == ["trial_0000", "trial_0002"]
    assert _where(runs, "optimizer.lr=1e-3") == ["trial_0000"]  # numeric equality


def test_where_missing_values_only_match_not_equal(runs) -> None:
    # The failed run has no objective value: it is neither > nor < anything.
    assert "trial_0004" not in _where(runs, "val/acc<0.5")
    assert "trial_0004" not in _where(runs, "val/acc>0.5")
    assert "trial_0004" in _where(runs, "val/acc!=0.5")


def test_where_syntax_errors(runs) -> None:
    with pytest.raises(QueryError, match="expected KEY OP VALUE"):
        parse_where("val/acc", runs.frame.columns)
    with pytest.raises(QueryError, match="unknown key"):
        parse_where("nope=1", runs.frame.columns)


def test_rank_puts_complete_first_in_objective_direction(runs) -> None:
    assert rank_runs(runs.frame)["name"].tolist() == [
        "trial_0000",
        "trial_0002",
        "trial_0001",
        "trial_0003",
        "trial_0004",
    ]


def test_rank_respects_minimize(tmp_path: Path) -> None:
    for name, value in [("a", 0.3), ("b", 0.1), ("c", 0.2)]:
        write_run(tmp_path / name, value=value, objective="val/mse", direction="minimize")
    frame = collect_runs([tmp_path]).frame
    assert rank_runs(frame)["name"].tolist() == ["b", "c", "a"]


def test_sort_orders(runs) -> None:
    objectives = list(runs.directions)
    frame = runs.frame

    def names(spec: str) -> list[str]:
        return sort_runs(frame, spec, runs.directions, objectives)["name"].tolist()

    assert names("lr") == ["trial_0000", "trial_0002", "trial_0003", "trial_0001", "trial_0004"]
    assert names("-lr") == names("lr:desc") == names("lr")[::-1]
    # A bare objective sorts best first; the missing value goes last either way.
    assert names("val/acc") == [
        "trial_0000",
        "trial_0002",
        "trial_0001",
        "trial_0003",
        "trial_0004",
    ]
    assert names("val/acc:asc") == [
        "trial_0003",
        "trial_0001",
        "trial_0002",
        "trial_0000",
        "trial_0004",
    ]
    assert names("optimizer:desc")[:2] == ["trial_0001", "trial_0004"]  # sgd > adamw > adam
