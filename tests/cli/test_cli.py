"""The ``hpt`` entry point: help without heavy imports, the one-line error formatter."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable

from helpers import CliResult

from hpt.errors import one_line


def test_help_lists_every_command(cli: Callable[..., CliResult]) -> None:
    res = cli("--help")
    assert res.rc == 0 and res.stderr == ""
    for command in ("train", "sweep", "summarize"):
        assert f"  {command} " in res.stdout


def test_no_arguments_prints_the_help(cli: Callable[..., CliResult]) -> None:
    res = cli()
    assert res.rc == 0 and "commands:" in res.stdout


def test_importing_the_cli_does_not_import_torch() -> None:
    code = "import sys, hpt.cli.commands; print('torch' in sys.modules, 'hydra' in sys.modules)"
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert out.split() == ["False", "False"]


def test_one_line_keeps_a_list_of_options_on_its_line() -> None:
    exc = RuntimeError(
        "Could not find 'model/mlpp'\n\nAvailable options in 'model':\n\tcnn\n\tmlp\nConfig search path:\n\tprovider=hydra"
    )
    assert one_line(exc) == "Could not find 'model/mlpp'. Available options in 'model': cnn, mlp."


def test_one_line_drops_causes_that_repeat_the_message() -> None:
    try:
        try:
            raise ValueError("Invalid learning rate: -1")
        except ValueError as inner:
            raise RuntimeError("bad optimizer setting: Invalid learning rate: -1") from inner
    except RuntimeError as exc:
        assert one_line(exc) == "bad optimizer setting: Invalid learning rate: -1."


def test_train_quiet_flag_prints_no_epoch_lines(tmp_path) -> None:
    import subprocess
    import sys

    cmd = [
        sys.executable,
        "-m",
        "hpt",
        "train",
        "--quiet",
        "data=mnist_tiny",
        "trainer.epochs=1",
        f"hydra.run.dir={tmp_path / 'run'}",
    ]
    r = subprocess.run(cmd, capture_output=True, text=True, cwd=tmp_path, timeout=120)
    assert r.returncode == 0, r.stderr
    assert "epoch 1/1" not in r.stderr
    assert "objective: val/acc=" in r.stdout
