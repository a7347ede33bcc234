"""benchmarks/storage_scale.py at a tiny scale: 4 worker processes, a 20-trial budget.

The benchmark's figures are only worth reading if its workers keep hpt's budget exact and
never run a trial twice, on each storage it measures; and the JSON it writes must hold what
BENCHMARKS.md and docs/cluster.md quote.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from helpers import REPO
from helpers.pgserver import (
    PgServer,
    pg_server,  # noqa: F401 (fixture)
)

# Imported by name, not by path: the spawned workers import their target the same way.
sys.path.insert(0, str(REPO / "benchmarks"))
import storage_scale

PHASES = ("ask_ms", "claim_ms", "tell_ms", "trial_ms")


def _check(run: dict, budget: int) -> None:  # type: ignore[type-arg]
    assert run["errors"] == []
    assert run["budget_exact"] is True
    assert run["counted"] == run["complete"] == run["claimed"] == budget
    assert run["duplicates"] == 0
    assert run["wall_s"] > 0 and run["trials_per_s"] > 0 and run["writes_per_s"] > 0
    for phase in PHASES:
        assert run[phase]["p50"] is not None and run[phase]["p99"] >= run[phase]["p50"]
    assert run["ask_ms"]["n"] == budget + run["discarded"] and run["tell_ms"]["n"] == budget
    for key in ("load_before", "load_start", "load_after"):
        assert len(run[key]) == 3
    assert "startup_s" in run and "workers_mem_mib" in run


def test_journal_four_workers_exact_budget_and_json(tmp_path: Path) -> None:
    out = tmp_path / "scale.json"
    storage_scale.main(
        ["--workers", "4", "--trials", "20", "--storages", "journal", "--out", str(out)]
    )
    result = json.loads(out.read_text())
    assert result["workers"] == 4 and result["trials"] == 20
    assert result["writes_per_trial"] == storage_scale.WRITES_PER_TRIAL
    assert {"date", "machine", "versions"} <= set(result)
    assert result["versions"]["optuna"]
    _check(result["runs"]["journal"], 20)


def test_a_no_op_trial_writes_what_the_benchmark_counts(tmp_path: Path) -> None:
    spec = str(tmp_path / "s.journal")
    run = storage_scale.measure(spec, 2, 6)
    records = Path(spec).read_text().splitlines()
    # one record creates the study; each counted trial writes 7, each discarded one 3
    assert len(records) == 1 + 7 * 6 + storage_scale.WRITES_PER_DISCARD * run["discarded"]
    _check(run, 6)


@pytest.mark.postgres
def test_postgres_and_the_grpc_proxy_four_workers_exact_budget(
    pg_server: PgServer,  # noqa: F811
    tmp_path: Path,
) -> None:
    result = storage_scale.run_all(["postgres", "grpc"], 4, 20, tmp_path, pg_server)
    assert result["versions"]["postgresql"]
    for kind in ("postgres", "grpc"):
        _check(result["runs"][kind], 20)
