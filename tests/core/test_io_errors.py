"""A full disk, a read-only file system or a run dir that vanished mid-run: ``hpt train`` ends
with exit 1 and one line naming the file (it was ``internal error: OSError: [Errno 28]``).

The errors are real: the kernel's ``/dev/full`` (every write: ENOSPC), a 3 MB tmpfs and a
read-only remount of it (both mounted by the test, so only where it runs as root).
"""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from helpers import cli_env, mounted_tmpfs

from hpt.rundir import METRICS, RESULT, read_json, read_jsonl

TRAIN = [
    sys.executable,
    "-m",
    "hpt",
    "train",
    "data=mnist_tiny",
    "data.subset=300",
    "trainer.device=cpu",
    "--quiet",
]


def _train(run_dir: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*TRAIN, *extra, f"hydra.run.dir={run_dir}"],
        capture_output=True,
        text=True,
        cwd=run_dir.parent,
        env=cli_env(),
        timeout=300,
    )


def _one_line(stderr: str) -> str:
    lines = stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in stderr and "internal error" not in stderr, stderr
    return lines[0]


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs Linux's /dev/full")
def test_a_disk_full_while_writing_metrics_is_one_line_naming_the_file_and_exit_1(
    tmp_path: Path,
) -> None:
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    (run_dir / METRICS).symlink_to("/dev/full")  # appends go to a device that is always full
    ran = _train(run_dir, "trainer.epochs=2", "model.width=16")
    assert ran.returncode == 1, ran.stderr
    line = _one_line(ran.stderr)
    assert f"No space left on device: '{run_dir / METRICS}'" in line
    result = read_json(run_dir / RESULT)
    assert result["status"] == "FAIL" and str(run_dir / METRICS) in result["error"]


def test_a_failed_write_after_training_leaves_result_json_fail_not_running(
    tmp_path: Path,
) -> None:
    run_dir = tmp_path / "run"
    (run_dir / "checkpoints" / "best.pt").mkdir(parents=True)  # os.replace onto it: EISDIR
    ran = _train(run_dir, "trainer.epochs=1", "model.width=16")
    assert ran.returncode == 1, ran.stderr
    line = _one_line(ran.stderr)
    assert f"cannot write {run_dir / 'checkpoints' / 'best.pt'}: Is a directory" in line
    result = read_json(run_dir / RESULT)
    assert result["status"] == "FAIL" and "best.pt" in result["error"]


def test_a_run_dir_removed_mid_run_is_one_line_and_exit_1(tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    proc = subprocess.Popen(
        [*TRAIN, "trainer.epochs=400", "model.width=16", f"hydra.run.dir={run_dir}"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=tmp_path,
        env=cli_env(),
    )
    _wait_for_epoch(run_dir, proc)
    run_dir.rename(tmp_path / "moved")  # gone at once (rmtree could race the run's writes)
    _, err = proc.communicate(timeout=300)
    assert proc.returncode == 1, err
    assert str(run_dir) in _one_line(err)


def _wait_for_epoch(run_dir: Path, proc: subprocess.Popen) -> None:
    deadline = time.monotonic() + 300
    while not read_jsonl(run_dir / METRICS):
        assert proc.poll() is None and time.monotonic() < deadline, proc.communicate()
        time.sleep(0.05)


@pytest.fixture
def tmpfs(tmp_path: Path) -> Iterator[Path]:
    """A real 3 MB tmpfs, mounted here (root only)."""
    with mounted_tmpfs(tmp_path / "mnt", "3m") as mnt:
        yield mnt


def test_a_full_tmpfs_is_one_line_naming_the_checkpoint_and_exit_1(tmpfs: Path) -> None:
    run_dir = tmpfs / "run"
    ran = _train(run_dir, "trainer.epochs=2", "model.width=512")  # last.pt: > 3 MB
    assert ran.returncode == 1, ran.stderr
    line = _one_line(ran.stderr)
    assert f"No space left on device: '{run_dir / 'checkpoints' / 'last.pt'}'" in line
    assert read_json(run_dir / RESULT)["status"] == "FAIL"  # the small record still fits


def test_a_file_system_turned_read_only_mid_run_is_one_line_and_exit_1(tmpfs: Path) -> None:
    run_dir = tmpfs / "run"
    proc = subprocess.Popen(
        [*TRAIN, "trainer.epochs=400", "model.width=16", f"hydra.run.dir={run_dir}"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=tmpfs.parent,
        env=cli_env(),
    )
    _wait_for_epoch(run_dir, proc)
    deadline = time.monotonic() + 60
    while subprocess.run(["mount", "-o", "remount,ro", str(tmpfs)]).returncode:
        assert time.monotonic() < deadline  # busy while the run holds a file open for writing
        time.sleep(0.01)
    _, err = proc.communicate(timeout=300)
    assert proc.returncode == 1, err
    line = _one_line(err)
    assert "Read-only file system" in line and str(run_dir) in line
