"""``data.problem`` (classification / binary / regression / auto) and the old ``data.task`` name."""

from __future__ import annotations

import json
from pathlib import Path

from helpers import compose_config, run_cli

from hpt.build import data_problem
from hpt.cli.argv import renamed_overrides


def test_data_problem_is_the_key_and_each_builtin_dataset_sets_it() -> None:
    for data, problem in (
        ("mnist_tiny", "classification"),
        ("binary", "binary"),
        ("regression", "regression"),
    ):
        cfg = compose_config([f"data={data}"])
        assert data_problem(cfg) == problem
        assert "task" not in cfg.data


def test_the_old_data_task_override_still_works_with_one_deprecation_line(capsys) -> None:
    assert renamed_overrides(["data.task=regression", "trainer.epochs=1"], "hpt train") == [
        "++data.problem=regression",
        "trainer.epochs=1",
    ]
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ["hpt train: note: data.task is deprecated, use data.problem=regression"]


def test_data_task_on_the_command_line_reaches_the_run(tmp_path: Path) -> None:
    res = run_cli(
        ["train", "data=binary", "data.task=binary", "trainer.epochs=1", "--quiet"], tmp_path
    )
    assert res.rc == 0, res.stderr
    assert "data.task is deprecated" in res.stderr
    result = json.loads((res.run_dir / "result.json").read_text())
    assert result["params"]["data.problem"] == "binary"
    assert "data.task" not in result["params"]
