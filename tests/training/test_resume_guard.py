"""A refused ``hpt train --resume RUN`` leaves RUN byte for byte as it was.

The run is resumed in-process (``hpt.cli.commands.main``) with a changed model or data setting,
another model's ``last.pt`` or a damaged one: each is exit 2 with one line that says what
differs, and a hash of every file of the run (names and bytes) is the same afterwards.
"""

from __future__ import annotations

import hashlib
import os
import shutil
from pathlib import Path

import pytest
from helpers import run_in_process as hpt

from hpt.training import resume

BASE = ["data=mnist_tiny", "trainer.epochs=2", "trainer.device=cpu", "--quiet"]


def tree_hash(root: Path) -> dict[str, str]:
    """Every file and folder under ``root``: its relative name -> sha256 of its bytes."""
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        if p.is_file()
        else "dir"
        for p in sorted(root.rglob("*"))
    }


@pytest.fixture(scope="module")
def finished(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A finished run (model.width=16) and another model's run (width 8)."""
    base = tmp_path_factory.mktemp("runs")
    runs = {"run": base / "run", "other": base / "other"}
    for name, width in (("run", 16), ("other", 8)):
        rc, _, err = hpt(
            "train", *BASE, f"model.width={width}", f"hydra.run.dir={runs[name]}", cwd=base
        )
        assert rc == 0, err
    return runs


def _random(path: Path) -> None:
    path.write_bytes(os.urandom(9000))


def _zero_4k(path: Path) -> None:
    """4 kB of zeros in the middle of the file: tensor data (weights, Adam's moments)."""
    import torch

    raw = bytearray(path.read_bytes())
    middle = len(raw) // 2
    raw[middle : middle + 4096] = bytes(4096)
    path.write_bytes(bytes(raw))
    torch.load(path, weights_only=True)  # silent to torch alone: only the checksum sees it


DAMAGE = {
    "truncated": lambda p: p.write_bytes(p.read_bytes()[: p.stat().st_size // 2]),
    "empty": lambda p: p.write_bytes(b""),
    "random": _random,
    "zeroed_4k": _zero_4k,
}


def _refused(run: Path, cwd: Path, *extra: str) -> str:
    before = tree_hash(run)
    rc, out, err = hpt("train", "--resume", str(run), *extra, cwd=cwd)
    assert rc == 2, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in err + out, err
    assert tree_hash(run) == before  # not one byte of the run changed
    return lines[0]


@pytest.mark.parametrize(
    ("override", "said"),
    [("model.width=32", "model.width=32 (the run has 16)"), ("data.subset=100", "data.subset=100")],
)
def test_a_resume_with_another_model_or_data_setting_is_refused_and_the_run_untouched(
    finished: dict[str, Path], tmp_path: Path, override: str, said: str
) -> None:
    run = shutil.copytree(finished["run"], tmp_path / "run")
    line = _refused(run, tmp_path, override)
    assert said in line and "same model and data" in line


def test_another_models_last_pt_is_refused_naming_the_shapes_and_the_run_untouched(
    finished: dict[str, Path], tmp_path: Path
) -> None:
    run = shutil.copytree(finished["run"], tmp_path / "run")
    shutil.copy(finished["other"] / resume.LAST, run / resume.LAST)
    line = _refused(run, tmp_path)
    assert "does not fit the model" in line
    assert "is [8, 784] in checkpoints/last.pt but [16, 784] in the model" in line


@pytest.mark.parametrize("damage", sorted(DAMAGE))
def test_a_damaged_last_pt_is_refused_in_one_line_and_the_run_untouched(
    finished: dict[str, Path], tmp_path: Path, damage: str
) -> None:
    run = shutil.copytree(finished["run"], tmp_path / "run")
    DAMAGE[damage](run / resume.LAST)
    line = _refused(run, tmp_path)
    assert f"{run / resume.LAST} is damaged: " in line
    assert "weights_only" not in line  # never torch's advice to unpickle the file


def test_the_same_run_resumes_after_the_refusals(finished: dict[str, Path], tmp_path: Path) -> None:
    """The check refuses what does not fit, not every resume: the unchanged run continues."""
    run = shutil.copytree(finished["run"], tmp_path / "run")
    rc, out, err = hpt("train", "--resume", str(run), "trainer.epochs=3", cwd=tmp_path)
    assert rc == 0, err
    assert f"run dir: {run}" in out
