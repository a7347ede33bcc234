"""A drop-in for projects that use hydra-optuna-sweeper (issue 31): `???` keys, the `motpe`
sampler, Hydra's job subdirs, the baseline and rerun settings, exact grids. Each test runs a
small app of tests/apps/ as its users run it, only the sweeper line changed."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import optuna
import pytest

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
    notes = [line for line in r.stderr.splitlines() if "sampler motpe" in line]
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


def test_the_baseline_is_opt_in_for_a_user_app_so_n_trials_are_all_sampled(tmp_path: Path) -> None:
    r = run_app(tmp_path, "sphere/sphere.py", "hydra.sweeper.n_trials=3", "y=choice(0, 1)")
    assert r.returncode == 0, r.stderr
    assert not any(t.user_attrs.get("baseline") for t in trials(tmp_path, "sphere"))
    assert "baseline trial" not in r.stderr  # (the tmp dir's own name says baseline)


@pytest.mark.parametrize(("rerun", "total"), [("resume", 3), ("extend", 5)])
def test_rerun_resume_runs_up_to_n_trials_and_extend_runs_n_trials_more(
    tmp_path: Path, rerun: str, total: int
) -> None:
    first = run_app(tmp_path, "sphere/sphere.py", "hydra.sweeper.n_trials=3")
    assert first.returncode == 0, first.stderr
    again = run_app(
        tmp_path, "sphere/sphere.py", "hydra.sweeper.n_trials=2", f"hydra.sweeper.rerun={rerun}"
    )
    assert again.returncode == 0, again.stderr
    assert len(trials(tmp_path, "sphere")) == total


@pytest.mark.parametrize(
    ("override", "says"),
    [
        ("hydra.sweeper.rerun=more", "hydra.sweeper.rerun='more' must be resume or extend"),
        ("hydra.sweeper.sampler.seed=-1", "hydra.sweeper.sampler.seed=-1 must be"),
        # switches take only true/false: a bool field would read 2 or "yes" as true
        ("hydra.sweeper.baseline=2", "hydra.sweeper.baseline=2 must be one of true, false, null"),
        ("hydra.sweeper.dry_run=yes", "hydra.sweeper.dry_run='yes' must be true or false"),
    ],
)
def test_a_bad_rerun_setting_is_one_line_and_exit_2(
    tmp_path: Path, override: str, says: str
) -> None:
    r = run_app(tmp_path, "motpe/motpe.py", override)
    assert r.returncode == 2, r.stderr
    assert says in r.stderr and len(r.stderr.strip().splitlines()) == 1, r.stderr


def _overrides(sweep_dir: Path) -> list[str]:
    files = sweep_dir.glob("**/.hydra/overrides.yaml")
    return sorted(line for f in files for line in f.read_text().splitlines())


def test_a_grid_is_hydras_expansion_with_the_inclusive_range_end_and_exact_floats(
    tmp_path: Path,
) -> None:
    r = run_app(tmp_path, "grid/grid.py")
    assert r.returncode == 0, r.stderr
    assert "the grid has 10 points; n_trials=100 capped to 10" in r.stderr
    # shuffle(range(1, 3)) is Hydra's expansion (1, 2); range(2.0, 2.4, step=0.1) keeps its
    # end, as every hpt range; each float is the range's own decimal, never 2.3000000000000003
    xs = [f"- x={v}" for v in ("2.0", "2.1", "2.2", "2.3", "2.4")]
    assert _overrides(tmp_path / "s") == sorted([*xs, *xs, *["- n=1"] * 5, *["- n=2"] * 5])


def test_a_sampled_float_step_reaches_the_app_on_the_steps_decimals(tmp_path: Path) -> None:
    r = run_app(
        tmp_path, "sphere/sphere.py", "hydra.sweeper.n_trials=12", "x=range(0, 3, step=0.1)"
    )
    assert r.returncode == 0, r.stderr
    xs = [line for line in _overrides(tmp_path / "s") if line.startswith("- x=")]
    assert len(xs) == 12 and all(len(x.split(".")[-1]) == 1 for x in xs), xs


def test_job_dirs_follow_hydras_default_subdir_and_summarize_finds_them(tmp_path: Path) -> None:
    r = run_app(tmp_path, "missing/missing.py")
    assert r.returncode == 0, r.stderr
    dirs = sorted(p.name for p in (tmp_path / "s").iterdir() if p.is_dir())
    assert dirs == ["0", "1", "2", "3"]  # ${hydra.job.num}, as the old plugin's jobs
    for t in trials(tmp_path, "missing"):
        record = json.loads((tmp_path / "s" / str(t.number) / "result.json").read_text())
        assert t.user_attrs["dir"] == str(t.number) and record["status"] == "COMPLETE"
    summary = subprocess.run(
        [sys.executable, "-m", "hpt", "summarize", str(tmp_path / "s"), "--format", "csv"],
        env=ENV,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert summary.returncode == 0, summary.stderr
    assert summary.stdout.count("COMPLETE") == 4


def test_a_custom_subdir_holds_each_trial_through_pruning_resume_and_summarize(
    tmp_path: Path,
) -> None:
    # hydra.sweep.subdir: experiments/${hydra.job.override_dirname}, a median pruner
    assert run_app(tmp_path, "subdir/subdir.py", "hydra.sweeper.n_trials=4").returncode == 0
    r = run_app(tmp_path, "subdir/subdir.py")  # n_trials=6: resumes with 2 more
    assert r.returncode == 0, r.stderr
    done = trials(tmp_path, "subdir")
    assert [t.number for t in done] == list(range(6))
    assert any(t.state.name == "PRUNED" for t in done)
    for t in done:
        name = t.user_attrs["dir"]
        assert name.startswith(f"experiments/lr={round(t.params['lr'], 1)}")  # -N if it existed
        record = json.loads((tmp_path / "s" / name / "result.json").read_text())
        assert record["status"] == t.state.name and record["trial"]["number"] == t.number
    summary = subprocess.run(
        [sys.executable, "-m", "hpt", "summarize", str(tmp_path / "s")],
        env=ENV,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert summary.returncode == 0, summary.stderr
    assert "6 runs in 1 sweep(s)" in summary.stdout and "experiments/lr=" in summary.stdout


def test_a_subdir_that_exists_gets_the_trial_number_never_the_same_dir(tmp_path: Path) -> None:
    r = run_app(tmp_path, "subdir/subdir.py", "hydra.sweeper.n_trials=2", "lr=choice(0.1)")
    assert r.returncode == 0, r.stderr
    assert [t.user_attrs["dir"] for t in trials(tmp_path, "subdir")] == [
        "experiments/lr=0.1",
        "experiments/lr=0.1-1",
    ]
