"""A drop-in for projects that use hydra-optuna-sweeper (issue 31): `???` keys, the `motpe`
sampler, Hydra's job subdirs, the baseline and rerun settings, exact grids. Each test runs a
small app of tests/apps/ as its users run it, only the sweeper line changed."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import optuna

from hpt.storage import open_storage

REPO = Path(__file__).resolve().parents[2]
APPS = REPO / "tests" / "apps"
ENV = {**os.environ, "PYTHONPATH": str(REPO)}


def run_app(tmp_path: Path, script: str, *args: str) -> subprocess.CompletedProcess[str]:
    cmd = [sys.executable, str(APPS / script), "-m", f"hydra.sweep.dir={tmp_path / 's'}", *args]
    return subprocess.run(cmd, cwd=tmp_path, env=ENV, capture_output=True, text=True, timeout=240)


def trials(tmp_path: Path, name: str) -> list[optuna.trial.FrozenTrial]:
    storage = open_storage(str(tmp_path / "s" / "study.journal"))
    return optuna.load_study(study_name=name, storage=storage).trials


def test_a_missing_key_is_searched_and_the_baseline_skips_it_in_one_line(tmp_path: Path) -> None:
    r = run_app(tmp_path, "missing/missing.py", "hydra.sweeper.baseline=true")
    assert r.returncode == 0, r.stderr
    assert "no baseline trial: x is ??? (no value) in the base config" in r.stderr
    done = trials(tmp_path, "missing")
    assert len(done) == 4 and all(t.state.name == "COMPLETE" for t in done)
    assert all(t.value == (t.params["x"] - 2) ** 2 + 1 for t in done)


def test_the_motpe_sampler_runs_tpe_over_two_objectives_with_one_note(tmp_path: Path) -> None:
    r = run_app(tmp_path, "motpe/motpe.py")
    assert r.returncode == 0, r.stderr
    notes = [line for line in r.stderr.splitlines() if "motpe" in line]
    assert notes == [
        "hpt sweeper: sampler motpe: Optuna 4 removed MOTPESampler; "
        "TPESampler, which handles several objectives, runs in its place"
    ]
    done = trials(tmp_path, "motpe")
    assert len(done) == 5 and all(len(t.values) == 2 for t in done)
    search = (tmp_path / "s" / "search.yaml").read_text()
    assert "optuna.samplers.TPESampler" in search and "n_ei_candidates: 12" in search


def test_every_sampler_name_of_hydra_optuna_sweeper_resolves(tmp_path: Path) -> None:
    # hydra-optuna-sweeper 1.2/1.3's config.py stores: tpe random cmaes nsgaii motpe grid
    for name in ("tpe", "random", "cmaes", "nsgaii", "motpe", "grid"):
        r = run_app(
            tmp_path,
            "missing/missing.py",
            f"hydra/sweeper/sampler={name}",
            "hydra.sweeper.dry_run=true",
        )
        assert r.returncode == 0, (name, r.stderr)
        built = {"tpe": "TPE", "motpe": "TPE", "cmaes": "CmaEs", "nsgaii": "NSGAII"}
        assert f"sampler: {built.get(name, name.title())}Sampler" in r.stdout, (name, r.stdout)
