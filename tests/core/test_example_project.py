"""examples/own_project: a user project (own model, table, image folder, search space) runs
through an installed hpt's console script from its own folder: train, a 4-trial sweep and
summarize, as its README says."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

from helpers import REPO, cli_env

HPT = str(Path(sys.executable).parent / "hpt")  # the console script: the cwd is not on sys.path


def _run(args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    env = cli_env()
    env.pop("PYTHONPATH", None)
    proc = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, f"{args}:\n{proc.stdout}\n{proc.stderr}"
    return proc


def test_the_example_project_trains_sweeps_and_summarizes(tmp_path: Path) -> None:
    project = tmp_path / "own_project"
    shutil.copytree(REPO / "examples" / "own_project", project)
    _run([sys.executable, "make_data.py"], project)

    _run(
        [
            HPT,
            "train",
            "model=tabnet",
            "data=wine",
            "trainer.epochs=3",
            "--quiet",
            "hydra.run.dir=outputs/wine",
        ],
        project,
    )
    wine = json.loads((project / "outputs" / "wine" / "result.json").read_text())
    assert wine["status"] == "COMPLETE"
    assert wine["params"]["model._target_"] == "mynet.TabularNet"
    assert wine["objective"]["name"] == "val/acc"  # the 3 cultivars: classification, inferred

    _run(
        [
            HPT,
            "train",
            "model=cnn",
            "data=digits",
            "trainer.epochs=1",
            "--quiet",
            "hydra.run.dir=outputs/digits",
        ],
        project,
    )
    digits = json.loads((project / "outputs" / "digits" / "result.json").read_text())
    assert digits["status"] == "COMPLETE" and digits["test"]["test/acc"] > 0.2

    sweep = project / "outputs" / "sweeps" / "wine"
    _run(
        [
            HPT,
            "sweep",
            "model=tabnet",
            "data=wine",
            "search=tabnet",
            "hydra.sweeper.n_trials=4",
            "trainer.epochs=2",
            "trainer.quiet=true",
            f"hydra.sweep.dir={sweep}",
        ],
        project,
    )
    trials = sorted(sweep.glob("trial_*/result.json"))
    assert len(trials) == 4
    results = [json.loads(p.read_text()) for p in trials]
    assert all(r["status"] == "COMPLETE" for r in results)
    assert len({r["params"]["model.hidden"] for r in results} | {None}) >= 2  # the space was used

    report = _run([HPT, "summarize", str(sweep)], project).stdout
    assert "4 runs" in report and "model.hidden" in report
