"""``make demo`` end to end, offline: no MNIST under ``HPT_DATA_DIR``, so it says so and runs
its three commands (train, sweep, summarize) on the bundled ``data=mnist_tiny``.

The Makefile runs from a temporary folder (its outputs land there), with this environment as
its ``.venv``; ``make -o STAMP`` keeps it from reinstalling anything. The default suite runs the
recipe with a smaller budget (``DEMO_*``); the demo's own settings take ~40 s on 2 cores
(marked slow).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from helpers import REPO, cli_env

VENV = Path(sys.executable).parent.parent
SMALL = ["DEMO=data.subset=300 trainer.epochs=1", "DEMO_TRIALS=3", "DEMO_JOBS=1"]


def _make_demo(tmp_path: Path, *settings: str) -> str:
    if shutil.which("make") is None:
        pytest.skip("make is not installed")
    shutil.copy2(REPO / "Makefile", tmp_path / "Makefile")
    for name in ("pyproject.toml", "setup.py"):  # the install stamp's prerequisites
        (tmp_path / name).symlink_to(REPO / name)
    stamp = VENV / ".install-stamp"
    cmd = ["make", "-o", str(stamp), "demo", f"VENV={VENV}", *settings]
    env = {**cli_env(), "HPT_DATA_DIR": str(tmp_path / "no-data")}  # no MNIST: offline path
    proc = subprocess.run(cmd, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return proc.stdout


def _check(tmp_path: Path, out: str, trials: int) -> None:
    assert "running the demo on data=mnist_tiny (bundled)" in out
    (run,) = (tmp_path / "outputs" / "runs").iterdir()
    assert json.loads((run / "result.json").read_text())["status"] == "COMPLETE"
    sweep = tmp_path / "outputs" / "sweeps" / "demo"
    done = [json.loads(p.read_text())["status"] for p in sweep.glob("trial_*/result.json")]
    assert len(done) == trials and "COMPLETE" in done
    assert "ranked by val/acc" in out  # hpt summarize's report of the sweep ...
    assert "hpt predict outputs/sweeps/demo/trial_" in out  # ... ending with the commands


def test_make_demo_runs_offline_on_the_bundled_images(tmp_path: Path) -> None:
    _check(tmp_path, _make_demo(tmp_path, *SMALL), trials=3)


@pytest.mark.slow
def test_make_demo_with_its_own_settings(tmp_path: Path) -> None:
    _check(tmp_path, _make_demo(tmp_path), trials=8)
