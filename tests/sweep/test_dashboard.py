"""``hpt dashboard``: optuna-dashboard on a real sweep's journal, queried through its HTTP API."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import urllib.request
from pathlib import Path

from helpers import cli_env, run_cli

TINY = [
    "data=mnist_tiny",
    "data.subset=600",
    "trainer.epochs=2",
    "trainer.device=cpu",
    "trainer.eval_batch_size=512",
    "search=random",
    "hydra.sweeper.n_trials=2",
]


def _get(url: str) -> dict:
    with urllib.request.urlopen(url, timeout=30) as r:
        return json.loads(r.read())


def test_dashboard_serves_the_study_with_objective_names_and_trial_metrics(tmp_path: Path) -> None:
    sweep_dir = tmp_path / "sweep"
    swept = run_cli(["sweep", *TINY, f"hydra.sweep.dir={sweep_dir}"], tmp_path, timeout=600)
    assert swept.rc == 0, swept.stderr
    server = subprocess.Popen(
        [sys.executable, "-m", "hpt", "dashboard", str(sweep_dir), "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=cli_env(),
        start_new_session=True,
    )
    try:
        line = server.stdout.readline() if server.stdout else ""
        assert line.startswith("optuna-dashboard: http://127.0.0.1:"), server.stderr
        url = line.split()[1].rstrip("/")
        (summary,) = _get(f"{url}/api/studies")["study_summaries"]
        study = _get(f"{url}/api/studies/{summary['study_id']}")
        assert study["objective_names"] == ["val/acc"]  # not "Objective 0"
        trials = study["trials"]
        assert [t["state"] for t in trials] == ["Complete", "Complete"]
        for t in trials:
            attrs = {a["key"]: a["value"] for a in t["user_attrs"]}
            result = json.loads((sweep_dir / attrs["dir"] / "result.json").read_text())
            assert float(attrs["best/val/acc"]) == result["best"]["val/acc"]
            assert "test/acc" not in attrs and "test" not in result  # trials do not test
            assert float(attrs["best/epoch"]) == result["best"]["epoch"]
    finally:
        os.killpg(server.pid, signal.SIGINT)
        server.wait(timeout=30)


def test_dashboard_bad_paths_are_one_line_exit_2(tmp_path: Path) -> None:
    for path in (tmp_path / "missing", tmp_path):
        result = run_cli(["dashboard", str(path)], tmp_path)
        assert result.rc == 2
        assert len(result.stderr.strip().splitlines()) == 1, result.stderr
