"""benchmarks/peers.py end to end at smoke size: every tool runs the search, or says why not.

Slow (it installs the peers' virtual environments on first use and starts Ray): run with
`-m slow`. Real MNIST is needed (the fixture skips without it).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from helpers import REPO

pytestmark = pytest.mark.slow
SCRIPT = REPO / "benchmarks" / "peers.py"
SMOKE = ["--seeds", "1", "--trials", "2", "--epochs", "1", "--subset", "600", "--target", "0.3"]


def peers(*args: str, mnist_root: Path, out: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(SCRIPT), "--data-dir", str(mnist_root), "--out", str(out), *args],
        capture_output=True,
        text=True,
        timeout=1500,
    )


def test_every_tool_runs_the_same_search_or_reports_why_not(
    tmp_path: Path, mnist_root: Path
) -> None:
    r = peers(*SMOKE, mnist_root=mnist_root, out=tmp_path / "peers.json")
    assert r.returncode == 0, r.stderr[-2000:]
    result = json.loads((tmp_path / "peers.json").read_text())
    runs = {run["tool"]: run for run in result["runs"]}
    # hpt with one worker and with one per core (the same tool twice on a 1-core machine)
    assert set(runs) == {"hpt-1", f"hpt-{os.cpu_count()}", "optuna", "ray", "hydra-optuna"}
    for tool, run in runs.items():
        if tool.startswith("hpt-") or not run["error"].startswith("not installed"):
            # Ran: the full budget, one epoch each, a real accuracy and a wall time.
            assert run["ok"], (tool, run["error"])
            assert run["trials"] == 2 and run["epochs"] == 2, (tool, run)
            assert 0.0 < run["best"] <= 1.0 and run["wall_s"] > 0, (tool, run)
            assert run["curve"] and run["curve"][-1][1] == run["best"], (tool, run)
        else:  # a peer that could not be installed is in the table with the installer's error
            assert f"{tool}: NOT INSTALLED:" in r.stdout
        assert f"| {tool} |" in r.stdout
    assert result["versions"]["hpt-venv"]["optuna"]


def test_a_peer_that_cannot_be_installed_is_reported_with_its_error(
    tmp_path: Path, mnist_root: Path
) -> None:
    r = peers(
        *SMOKE,
        "--tools",
        "hpt-1",
        "hydra-optuna",
        "--pin",
        "hydra-optuna=hydra-optuna-sweeper==0.0.0",  # no such release
        "--venvs",
        str(tmp_path / "venvs"),
        mnist_root=mnist_root,
        out=tmp_path / "peers.json",
    )
    assert r.returncode == 0, r.stderr[-2000:]
    runs = {run["tool"]: run for run in json.loads((tmp_path / "peers.json").read_text())["runs"]}
    assert runs["hpt-1"]["ok"]
    assert not runs["hydra-optuna"]["ok"]
    assert runs["hydra-optuna"]["error"].startswith("not installed: ")
    assert "hydra-optuna-sweeper" in runs["hydra-optuna"]["error"]  # the installer's own words
    assert "hydra-optuna: NOT INSTALLED:" in r.stdout
    assert "| hydra-optuna | 0/1 | not installed: " in r.stdout
