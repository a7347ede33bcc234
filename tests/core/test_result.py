"""``hpt.result``: the one writer of result.json, and whose record it may close."""

from __future__ import annotations

import json
import os
from pathlib import Path

from hpt.result import (
    close_running,
    mark_running,
    objective_records,
    read_result,
    update_result,
    write_if_missing,
    write_result,
)

FAILED = {"status": "FAIL", "error": "killed", "error_kind": "worker_died"}


def test_a_run_opens_running_and_fields_are_added_to_its_record(tmp_path: Path) -> None:
    run = tmp_path / "run"
    base = mark_running(run, {"optimizer.lr": 0.1}, {"number": 3, "study_name": "s"})
    assert (
        read_result(run)
        == base
        == {
            "status": "RUNNING",
            "params": {"optimizer.lr": 0.1},
            "trial": {"number": 3, "study_name": "s"},
            "pid": os.getpid(),
        }
    )
    update_result(run, warnings=["logger=csv failed"])
    assert read_result(run) == {**base, "warnings": ["logger=csv failed"]}
    assert list(json.loads((run / "result.json").read_text())) == [*base, "warnings"]


def test_only_the_named_runs_running_record_is_closed(tmp_path: Path) -> None:
    mark_running(tmp_path, {}, {"number": 3, "study_name": "s"})
    assert not close_running(tmp_path, FAILED, trial=4)  # another trial's directory
    assert not close_running(tmp_path, FAILED, pid=os.getpid() + 1)  # another process's run
    assert (read_result(tmp_path) or {})["status"] == "RUNNING"
    assert close_running(tmp_path, FAILED, trial=3, pid=os.getpid())
    assert (read_result(tmp_path) or {})["error_kind"] == "worker_died"
    assert not close_running(tmp_path, {"status": "PRUNED"}, trial=3)  # it has its ending


def test_a_missing_record_is_written_only_when_asked(tmp_path: Path) -> None:
    assert not close_running(tmp_path, FAILED, trial=0)
    assert read_result(tmp_path) is None
    assert close_running(tmp_path, FAILED, trial=0, missing={"params": {"x": 1}})
    assert read_result(tmp_path) == {"params": {"x": 1}, **FAILED}
    write_if_missing(tmp_path, {"status": "FAIL", "error": "never started"})
    assert read_result(tmp_path) == {"params": {"x": 1}, **FAILED}  # the one there is kept


def test_objective_records_hold_values_only_when_given(tmp_path: Path) -> None:
    names, dirs = ["val/loss", "model/n_params"], ["minimize", "minimize"]
    assert [o["value"] for o in objective_records(names, dirs, None)] == [None, None]
    write_result(tmp_path, {"objectives": objective_records(names, dirs, [0.5, float("inf")])})
    # (JSON has no inf: it is written as a string, as every other non-finite value is)
    assert read_result(tmp_path) == {
        "objectives": [
            {"name": "val/loss", "value": 0.5, "direction": "minimize"},
            {"name": "model/n_params", "value": "inf", "direction": "minimize"},
        ]
    }
