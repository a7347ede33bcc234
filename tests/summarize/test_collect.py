"""Collecting run directories into the runs DataFrame."""

from __future__ import annotations

import json
import math
from pathlib import Path

from helpers.summarize_fixtures import synthetic_sweep, write_run, write_sweep

from hpt.summarize.collect import collect_runs
from hpt.summarize.columns import CORRUPT, UNKNOWN, varying_params


def _by_name(frame):
    return {row["name"]: row for _, row in frame.iterrows()}


def test_sweep_runs_have_one_row_each_with_flattened_fields(tmp_path: Path) -> None:
    sweep = write_sweep(tmp_path / "sweep", study_name="tpe")
    write_run(
        sweep / "trial_0000", value=0.95, trial=0, test_value=0.94, params={"optimizer.lr": 0.01}
    )
    write_run(sweep / "trial_0001", status="PRUNED", value=0.5, trial=1, epochs=1)

    collection = collect_runs([sweep])
    frame = collection.frame
    assert len(frame) == 2
    rows = _by_name(frame)
    first = rows["trial_0000"]
    assert first["sweep"] == "tpe"
    assert first["trial"] == 0
    assert first["status"] == "COMPLETE"
    assert (first["objective"], first["value"], first["direction"]) == ("val/acc", 0.95, "maximize")
    assert first["params.optimizer.lr"] == 0.01
    assert first["test.test/acc"] == 0.94
    assert first["best.val/loss"] == 0.08
    assert first["n_params"] == 109386
    assert rows["trial_0001"]["status"] == "PRUNED"
    assert collection.directions == {"val/acc": "maximize"}
    assert str(sweep) in collection.sweeps
    assert collection.warnings == []


def test_nested_folders_are_walked_but_not_hydra_or_checkpoints(tmp_path: Path) -> None:
    outputs = tmp_path / "outputs"
    synthetic_sweep(outputs / "sweeps" / "a", 3)
    write_run(outputs / "runs" / "2026-11-21" / "10-00-00", value=0.9)
    # A run dir nested inside a checkpoints folder or .hydra must never be found.
    write_run(outputs / "runs" / "2026-11-21" / "10-00-00" / "checkpoints" / "x", value=0.1)
    write_run(outputs / ".hidden" / "y", value=0.2)

    frame = collect_runs([outputs]).frame
    assert sorted(frame["name"]) == [
        "runs/2026-11-21/10-00-00",
        "sweeps/a/trial_0000",
        "sweeps/a/trial_0001",
        "sweeps/a/trial_0002",
    ]
    standalone = frame[frame["sweep_dir"].isna()]
    assert standalone["name"].tolist() == ["runs/2026-11-21/10-00-00"]


def test_a_run_dir_given_directly_and_overlapping_paths(tmp_path: Path) -> None:
    sweep = synthetic_sweep(tmp_path / "s", 2)
    frame = collect_runs([sweep / "trial_0001"]).frame
    assert frame["name"].tolist() == ["trial_0001"]
    assert frame["sweep"].tolist() == ["synthetic"]  # its parent's sweep.json is used
    both = collect_runs([tmp_path, sweep]).frame
    assert len(both) == 2  # the same runs reached twice are listed once


def test_corrupt_partial_and_in_progress_runs_are_listed_not_fatal(tmp_path: Path) -> None:
    sweep = write_sweep(tmp_path / "sweep")
    write_run(sweep / "trial_0000", value=0.9, trial=0)
    truncated = write_run(sweep / "trial_0001", value=0.8, trial=1)
    text = (truncated / "result.json").read_text()
    (truncated / "result.json").write_text(text[: len(text) // 2])
    garbage = sweep / "trial_0002"
    garbage.mkdir()
    (garbage / "result.json").write_bytes(b"\x00\xff not json")
    only_manifest = write_run(sweep / "trial_0003", value=0.7, trial=3)
    (only_manifest / "result.json").unlink()
    (sweep / "trial_0004" / ".hydra").mkdir(parents=True)  # started, nothing written yet
    running = write_run(sweep / "trial_0005", status="RUNNING", value=None, trial=5, epochs=2)
    result = json.loads((running / "result.json").read_text())
    result.update(final={}, best={})
    (running / "result.json").write_text(json.dumps(result))
    with open(running / "metrics.jsonl", "a") as f:
        f.write('{"epoch": 3, "val/ac')  # torn last line of a killed run
    array = write_run(sweep / "trial_0006", trial=6)
    (array / "result.json").write_text("[1, 2, 3]")
    odd = write_run(sweep / "trial_0007", trial=7)
    odd_result = json.loads((odd / "result.json").read_text())
    odd_result["status"] = "EXPLODED"
    (odd / "result.json").write_text(json.dumps(odd_result))

    collection = collect_runs([sweep])
    rows = _by_name(collection.frame)
    assert rows["trial_0000"]["status"] == "COMPLETE"
    assert rows["trial_0001"]["status"] == CORRUPT
    assert rows["trial_0002"]["status"] == CORRUPT
    assert rows["trial_0006"]["status"] == CORRUPT
    assert rows["trial_0003"]["status"] == UNKNOWN
    assert rows["trial_0004"]["status"] == UNKNOWN
    assert rows["trial_0007"]["status"] == UNKNOWN
    assert rows["trial_0005"]["status"] == "RUNNING"
    assert rows["trial_0005"]["epochs"] == 2  # from metrics.jsonl, torn line skipped
    assert rows["trial_0001"]["trial"] == 1  # recovered from the directory name
    assert len(collection.warnings) == 6
    assert all("\n" not in w for w in collection.warnings)
    assert any("trial_0001" in w and "truncated" in w for w in collection.warnings)


def test_nan_and_inf_strings_become_floats(tmp_path: Path) -> None:
    run = write_run(
        tmp_path / "r", status="FAIL", value=float("nan"), error="loss is NaN", error_kind="nan"
    )
    result = json.loads((run / "result.json").read_text())
    assert result["objective"]["value"] == "nan"  # the contract's encoding
    result["final"] = {"val/loss": "inf"}
    (run / "result.json").write_text(json.dumps(result))
    row = collect_runs([run]).frame.iloc[0]
    assert math.isnan(row["value"])
    assert row["final.val/loss"] == math.inf
    assert row["error_kind"] == "nan"


def test_multi_objective_runs_get_one_column_per_objective(tmp_path: Path) -> None:
    run = write_run(
        tmp_path / "r",
        objectives=[("val/acc", 0.9, "maximize"), ("model/n_params", 5000.0, "minimize")],
    )
    collection = collect_runs([run])
    row = collection.frame.iloc[0]
    assert row["objective.val/acc"] == 0.9
    assert row["objective.model/n_params"] == 5000.0
    assert row["value"] == 0.9
    assert collection.directions == {"val/acc": "maximize", "model/n_params": "minimize"}


def test_varying_params_ignores_unreadable_rows_and_int_float_noise(tmp_path: Path) -> None:
    sweep = write_sweep(tmp_path / "s")
    write_run(sweep / "trial_0000", params={"optimizer.lr": 0.1, "model.hidden": 128})
    write_run(sweep / "trial_0001", params={"optimizer.lr": 0.01, "model.hidden": 128.0})
    (sweep / "trial_0002").mkdir()
    (sweep / "trial_0002" / "result.json").write_text("{")
    frame = collect_runs([sweep]).frame
    assert varying_params(frame) == ["params.optimizer.lr"]


def test_empty_folder_gives_an_empty_frame(tmp_path: Path) -> None:
    collection = collect_runs([tmp_path])
    assert collection.frame.empty
    assert "status" in collection.frame.columns
