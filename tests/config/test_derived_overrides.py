"""``data.num_classes`` and ``data.shape`` describe hpt's built-in data sets; given as
overrides they used to be silently ignored (exit 0). Now: exit 2, one line, no file written,
for ``hpt train`` and ``hpt sweep`` alike; a user's own data source keeps its keys."""

from __future__ import annotations

from pathlib import Path

import pytest
from helpers import run_in_process as hpt


@pytest.mark.parametrize(
    "override",
    ["data.num_classes=5", "data.shape=[3,32,32]", "++data.num_classes=3", "data.num_classes=10"],
)
@pytest.mark.parametrize("command", ["train", "sweep"])
def test_a_derived_data_setting_as_an_override_is_one_line_and_exit_2(
    tmp_path: Path, override: str, command: str
) -> None:
    extra = ["hydra.sweeper.dry_run=true", "optimizer.lr=interval(0.001, 0.1)"]
    rc, _out, err = hpt(
        command,
        "data=mnist_tiny",
        override,
        f"hydra.run.dir={tmp_path / 'run'}",
        f"hydra.sweep.dir={tmp_path / 'sweep'}",
        *(extra if command == "sweep" else []),
        cwd=tmp_path,
    )
    assert rc == 2, err
    (line,) = err.strip().splitlines()
    key = override.lstrip("+").split("=")[0]
    assert line.startswith(f"hpt {command}: error: {override}: {key} is read from data=mnist_tiny")
    assert list(tmp_path.iterdir()) == []  # nothing written


def test_the_data_configs_own_values_still_run(tmp_path: Path) -> None:
    rc, _, err = hpt(
        "train",
        "data=mnist_tiny",
        "data.subset=100",
        "trainer.epochs=1",
        "trainer.device=cpu",
        "--quiet",
        f"hydra.run.dir={tmp_path / 'run'}",
        cwd=tmp_path,
    )
    assert rc == 0, err
