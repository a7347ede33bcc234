"""The CLI behaves the way git and Hydra users expect: per-command help (``hpt help train``),
hpt's version for every command, a quiet end when the reader of a pipe leaves, shell
completion of commands, groups, options and keys, and ``hpt train -m`` reporting every job.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from helpers import cli_env
from helpers.in_process import hpt

from hpt.cli import commands as cli
from hpt.cli.app import config_dir

MODEL_OPTIONS = {f"model={p.stem}" for p in (config_dir() / "model").glob("*.yaml")}


def _help(*argv: str, tmp_path: Path) -> str:
    ran = hpt(*argv, cwd=tmp_path)
    assert ran.rc == 0 and ran.stderr == "", ran.stderr
    return ran.stdout


def test_train_help_lists_only_the_groups_and_options_one_can_choose(tmp_path: Path) -> None:
    text = _help("train", "--help", tmp_path=tmp_path)
    assert text.startswith("usage: hpt train")
    assert "base_" not in text  # schemas are not options
    groups = {line.split(":")[0].strip() for line in text.splitlines() if line.startswith("  ")}
    assert {"model", "optimizer", "data", "trainer", "scheduler"} <= groups
    assert not groups & {"search", "lr_find", "hydra"}  # they do not apply to training
    assert "mlp*" in text  # the default is marked


def test_hpt_help_command_is_the_command_help(tmp_path: Path) -> None:
    assert _help("help", "train", tmp_path=tmp_path) == _help("train", "-h", tmp_path=tmp_path)
    lr_find = _help("help", "lr-find", tmp_path=tmp_path)
    assert lr_find.startswith("usage: hpt lr-find") and "Hydra" not in lr_find


@pytest.mark.parametrize("command", ["train", "lr-find", "sweep"])
def test_version_is_hpt_s_with_its_libraries(command: str, tmp_path: Path) -> None:
    from importlib.metadata import version

    text = _help(command, "--version", tmp_path=tmp_path).strip()
    assert text == (
        f"hpt {version('hpt')} (torch {version('torch')}, optuna {version('optuna')}, "
        f"hydra {version('hydra-core')})"
    )


def test_a_closed_pipe_ends_quietly(tmp_path: Path) -> None:
    """``hpt lr-find --help | head``: the reader is gone before hpt writes a byte."""
    read, write = os.pipe()
    os.close(read)  # like `head` that has already exited
    proc = subprocess.run(
        [sys.executable, "-m", "hpt", "lr-find", "--help"],
        stdout=write,
        stderr=subprocess.PIPE,
        text=True,
        cwd=tmp_path,
        env=cli_env(),
        timeout=120,
    )
    os.close(write)
    assert proc.returncode == 0
    assert proc.stderr == ""


# -- shell completion -------------------------------------------------------------------
def _query(line: str, shell: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> set[str]:
    monkeypatch.setenv("COMP_LINE", line)
    ran = hpt("-sc", f"query={shell}", cwd=tmp_path)
    assert ran.rc == 0, ran.stderr
    return set(ran.stdout.split())


@pytest.mark.parametrize("shell", ["bash", "zsh"])
def test_completion_offers_commands_groups_options_and_keys(
    shell: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    assert _query("hpt ", shell, monkeypatch, tmp_path) >= {
        "train",
        "sweep",
        "summarize",
        "lr-find",
    }
    assert _query("hpt tr", shell, monkeypatch, tmp_path) == {"train"}
    assert _query("hpt train model=", shell, monkeypatch, tmp_path) == MODEL_OPTIONS
    data = _query("hpt train data=", shell, monkeypatch, tmp_path)
    assert "data=mnist_tiny" in data and not any("base_" in w for w in data)
    assert "trainer.epochs=" in _query("hpt train trainer.ep", shell, monkeypatch, tmp_path)
    assert "optimizer=sgd" in _query("hpt sweep optimizer=s", shell, monkeypatch, tmp_path)
    assert {"lr_find.start=", "lr_find.steps="} <= _query(
        "hpt lr-find lr_find.st", shell, monkeypatch, tmp_path
    )
    assert _query("hpt summarize --to", shell, monkeypatch, tmp_path) == {"--top"}


@pytest.mark.skipif(shutil.which("bash") is None, reason="no bash")
def test_the_installed_bash_completion_completes_in_a_real_shell(tmp_path: Path) -> None:
    """``eval "$(hpt -sc install=bash)"`` in bash, then what <TAB> after ``model=`` offers."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "hpt").write_text(f'#!/bin/sh\nexec {sys.executable} -m hpt "$@"\n')
    (bin_dir / "hpt").chmod(0o755)
    script = (
        'eval "$(hpt -sc install=bash)"\n'
        'COMP_LINE="hpt train model="; COMP_WORDS=(hpt train model=); COMP_CWORD=2\n'
        "COMP_POINT=${#COMP_LINE}; hydra_bash_completion; echo ${COMPREPLY[@]}\n"
    )
    env = {**cli_env(), "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}"}
    proc = subprocess.run(
        ["bash", "-c", script], capture_output=True, text=True, env=env, cwd=tmp_path, timeout=120
    )
    assert proc.returncode == 0, proc.stderr
    assert set(proc.stdout.split()) == MODEL_OPTIONS


@pytest.mark.skipif(shutil.which("bash") is None, reason="no bash")
def test_a_completed_command_word_ends_with_a_space_in_a_real_shell(tmp_path: Path) -> None:
    """``hpt tra<TAB>`` gives ``train `` (not ``train`` glued to the next word); keys still
    stop at ``=`` for their value."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "hpt").write_text(f'#!/bin/sh\nexec {sys.executable} -m hpt "$@"\n')
    (bin_dir / "hpt").chmod(0o755)
    script = (
        'eval "$(hpt -sc install=bash)"\n'
        'COMP_LINE="hpt tra"; COMP_WORDS=(hpt tra); COMP_CWORD=1\n'
        'COMP_POINT=${#COMP_LINE}; hydra_bash_completion; echo "[${COMPREPLY[@]}]"\n'
        'COMP_LINE="hpt train trainer.epo"; COMP_WORDS=(hpt train trainer.epo); COMP_CWORD=2\n'
        'COMP_POINT=${#COMP_LINE}; hydra_bash_completion; echo "[${COMPREPLY[@]}]"\n'
    )
    env = {**cli_env(), "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}"}
    proc = subprocess.run(
        ["bash", "-c", script], capture_output=True, text=True, env=env, cwd=tmp_path, timeout=120
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines() == ["[train ]", "[trainer.epochs=]"]


def test_a_bad_completion_request_is_one_line_and_exit_2(tmp_path: Path) -> None:
    ran = hpt("-sc", "query=fish", cwd=tmp_path)
    assert ran.rc == 2 and len(ran.stderr.strip().splitlines()) == 1


# -- hpt train -m ---------------------------------------------------------------------------
def test_multirun_prints_one_line_per_job_and_the_best(tmp_path: Path) -> None:
    sweep = tmp_path / "sweep"
    ran = hpt(
        "train",
        "-m",
        "data=mnist_tiny",
        "data.subset=200",
        "trainer.epochs=1",
        "trainer.device=cpu",
        "trainer.quiet=true",
        "model.width=0,8,16",
        f"hydra.sweep.dir={sweep}",
        cwd=tmp_path,
    )
    lines = ran.stdout.strip().splitlines()
    assert len(lines) == 4, ran.stdout
    assert lines[0].startswith("job 0 [model.width=0]: failed: model.width=0: must be")
    for i, width in ((1, 8), (2, 16)):
        assert lines[i].startswith(f"job {i} [model.width={width}]: val/acc=")
        assert lines[i].endswith(f"run dir: {sweep / f'trial_{i}'}")
    assert lines[3].startswith("best: job ")
    best = max((1, 2), key=lambda i: float(lines[i].split("val/acc=")[1].split()[0]))
    assert lines[3].startswith(f"best: job {best} ")
    assert ran.rc == 2  # one job had a bad setting


def test_unknown_command_is_one_line(tmp_path: Path) -> None:
    ran = hpt("trian", cwd=tmp_path)
    assert ran.rc == 2 and ran.stderr.strip().count("\n") == 0
    assert cli.COMMANDS[0] in ran.stderr


# -- interrupts ---------------------------------------------------------------------------
def test_sigterm_ends_a_run_with_143_and_records_it_as_interrupted(tmp_path: Path) -> None:
    import json
    import signal
    import time

    run = tmp_path / "run"
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "hpt",
            "train",
            "data=mnist_tiny",
            "data.subset=200",
            "model.width=16",
            "trainer.epochs=100000",
            "trainer.device=cpu",
            "trainer.quiet=true",
            f"hydra.run.dir={run}",
        ],
        cwd=tmp_path,
        env=cli_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 300
    while not (run / "metrics.jsonl").exists():  # training has begun: an epoch is written
        assert proc.poll() is None and time.monotonic() < deadline, proc.communicate()
        time.sleep(0.2)
    proc.send_signal(signal.SIGTERM)
    _, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 143, stderr
    assert stderr.strip().splitlines()[-1] == "hpt train: terminated"
    result = json.loads((run / "result.json").read_text())
    assert result["status"] == "FAIL" and result["error_kind"] == "interrupted"


# -- habits from other tools ----------------------------------------------------------------
@pytest.mark.parametrize(
    ("argv", "pointer"),
    [
        (["train", "--epochs", "3", "data=mnist_tiny"], "write trainer.epochs=3"),
        (["train", "--lr=0.1"], "write optimizer.lr=0.1"),
        (["sweep", "--n-trials", "5"], "write hydra.sweeper.n_trials="),
    ],
)
def test_a_flag_from_another_tool_points_at_its_override(
    argv: list[str], pointer: str, tmp_path: Path
) -> None:
    ran = hpt(*argv, cwd=tmp_path)
    assert ran.rc == 2 and len(ran.stderr.strip().splitlines()) == 1, ran.stderr
    assert pointer in ran.stderr and "settings are overrides" in ran.stderr


def test_another_library_s_distribution_points_at_hydra_s_grammar(tmp_path: Path) -> None:
    ran = hpt(
        "sweep",
        "data=mnist_tiny",
        "optimizer.lr=loguniform(1e-4, 1e-1)",
        f"hydra.sweep.dir={tmp_path / 's'}",
        cwd=tmp_path,
    )
    assert ran.rc == 2 and len(ran.stderr.strip().splitlines()) == 1, ran.stderr
    assert "write optimizer.lr='tag(log, interval(1e-4, 1e-1))'" in ran.stderr
    assert not (tmp_path / "s").exists()


def test_sweep_help_lists_the_search_configs_with_their_sampler_and_pruner(
    tmp_path: Path,
) -> None:
    (tmp_path / "conf" / "search").mkdir(parents=True)
    (tmp_path / "conf" / "search" / "mine.yaml").write_text(
        "# @package _global_\ndefaults:\n  - override /hydra/sweeper/sampler: random\n"
    )
    text = _help("sweep", "--help", tmp_path=tmp_path)
    listed = text.split("search configs (search=NAME")[1].splitlines()[1:]
    names = {line.split()[0] for line in listed if line.strip()}
    assert names == {p.stem for p in (config_dir() / "search").glob("*.yaml")} | {"mine"}
    assert any(line.split() == ["tpe", "sampler", "tpe,", "pruner", "hyperband"] for line in listed)


@pytest.mark.skipif(shutil.which("bash") is None, reason="no bash")
def test_a_completed_folder_ends_with_a_slash_in_a_real_shell(tmp_path: Path) -> None:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "hpt").write_text(f'#!/bin/sh\nexec {sys.executable} -m hpt "$@"\n')
    (bin_dir / "hpt").chmod(0o755)
    (tmp_path / "outputs" / "sweeps").mkdir(parents=True)
    script = (
        'eval "$(hpt -sc install=bash)"\n'
        'COMP_LINE="hpt summarize outp"; COMP_WORDS=(hpt summarize outp); COMP_CWORD=2\n'
        'COMP_POINT=${#COMP_LINE}; hydra_bash_completion; echo "[${COMPREPLY[@]}]"\n'
        'COMP_LINE="hpt summarize outputs/sw"; COMP_WORDS=(hpt summarize outputs/sw)\n'
        'COMP_POINT=${#COMP_LINE}; hydra_bash_completion; echo "[${COMPREPLY[@]}]"\n'
    )
    env = {**cli_env(), "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}"}
    proc = subprocess.run(
        ["bash", "-c", script], capture_output=True, text=True, env=env, cwd=tmp_path, timeout=120
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines() == ["[outputs/]", "[outputs/sweeps/]"]
