"""Users' own Hydra apps (tests/apps/, written the way Hydra's Optuna examples and
lightning-hydra-template write them) swept by hpt with only the sweeper line changed."""

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
APPS = Path(__file__).resolve().parents[1] / "apps"


def run_app(
    tmp_path: Path, script: str, *args: str, sweep_dir: Path | None = None
) -> subprocess.CompletedProcess[str]:
    sweep_dir = sweep_dir or tmp_path / "sweep"
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    cmd = [sys.executable, str(APPS / script), "-m", f"hydra.sweep.dir={sweep_dir}", *args]
    return subprocess.run(cmd, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=240)


def study(sweep_dir: Path, name: str) -> optuna.Study:
    return optuna.load_study(
        study_name=name, storage=open_storage(str(sweep_dir / "study.journal"))
    )


def results(sweep_dir: Path) -> list[dict]:
    # Hydra's job subdirs, as the old plugin's: 0/, 1/, ... (hydra.sweep.subdir)
    found = sorted(sweep_dir.glob("*/result.json"), key=lambda p: int(p.parent.name))
    return [json.loads(p.read_text()) for p in found]


def test_hydra_sphere_example_returns_a_float_objective_and_records_every_trial(
    tmp_path: Path,
) -> None:
    r = run_app(tmp_path, "sphere/sphere.py", "hydra.sweeper.n_trials=5")
    assert r.returncode == 0, r.stderr
    s = study(tmp_path / "sweep", "sphere")
    done = [t for t in s.trials if t.state == optuna.trial.TrialState.COMPLETE]
    assert len(done) == 5
    assert s.metric_names == ["objective"]
    for t in done:  # the objective is the task function's return value
        assert t.value == pytest.approx(t.params["x"] ** 2 + t.params["y"] ** 2)
    recs = results(tmp_path / "sweep")
    assert len(recs) == 5 and all(rec["status"] == "COMPLETE" for rec in recs)
    rec = recs[0]
    assert rec["objective"]["name"] == "objective" and rec["objective"]["direction"] == "minimize"
    assert rec["objective"]["value"] == pytest.approx(
        rec["params"]["x"] ** 2 + rec["params"]["y"] ** 2
    )
    assert rec["duration_s"] >= 0 and rec["error"] is None
    summary = subprocess.run(
        [sys.executable, "-m", "hpt", "summarize", str(tmp_path / "sweep")],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        timeout=120,
    )
    assert summary.returncode == 0, summary.stderr
    assert "5 runs" in summary.stdout and "COMPLETE 5" in summary.stdout


def test_direction_maximize_flips_the_study(tmp_path: Path) -> None:
    r = run_app(
        tmp_path, "sphere/sphere.py", "hydra.sweeper.n_trials=3", "hydra.sweeper.direction=maximize"
    )
    assert r.returncode == 0, r.stderr
    assert study(tmp_path / "sweep", "sphere").direction == optuna.study.StudyDirection.MAXIMIZE


def test_multi_objective_app_returning_a_tuple(tmp_path: Path) -> None:
    r = run_app(tmp_path, "multi/multi.py")
    assert r.returncode == 0, r.stderr
    s = study(tmp_path / "sweep", "multi-objective")
    assert len(s.directions) == 2 and s.metric_names == ["objective_0", "objective_1"]
    assert sum(t.state == optuna.trial.TrialState.COMPLETE for t in s.trials) == 6
    t = s.trials[0]
    x, y = t.params["x"], t.params["y"]
    assert t.values == pytest.approx([4 * x**2 + 4 * y**2, (x - 5) ** 2 + (y - 5) ** 2])
    assert len(results(tmp_path / "sweep")[0]["objectives"]) == 2


def test_a_user_loop_calling_hpt_report_is_pruned_by_the_median_pruner(tmp_path: Path) -> None:
    r = run_app(tmp_path, "prune/prune.py")
    assert r.returncode == 0, r.stderr
    trials = study(tmp_path / "sweep", "prune").trials
    pruned = [t for t in trials if t.state == optuna.trial.TrialState.PRUNED]
    assert pruned, [t.state for t in trials]
    assert all(len(t.intermediate_values) < 5 for t in pruned)  # stopped before the last step
    statuses = {rec["trial"]["number"]: rec["status"] for rec in results(tmp_path / "sweep")}
    assert {statuses[t.number] for t in pruned} == {"PRUNED"}


def test_hpt_report_outside_a_sweep_does_nothing() -> None:
    import hpt

    hpt.report(1.0, 0)  # no sweep: no reporter, no exception
    assert issubclass(hpt.TrialPruned, optuna.TrialPruned)


def test_a_failing_trial_is_recorded_with_its_reason_and_the_sweep_goes_on(tmp_path: Path) -> None:
    r = run_app(
        tmp_path,
        "sphere/sphere.py",
        "+fail_above=0",
        "hydra.sweeper.n_trials=6",
        "hydra.sweeper.max_failure_rate=1",
    )
    assert r.returncode == 0, r.stderr
    recs = results(tmp_path / "sweep")
    assert len(recs) == 6
    failed = [rec for rec in recs if rec["status"] == "FAIL"]
    assert failed and len(failed) < 6
    assert all(rec["params"]["x"] > 0 for rec in failed)
    assert all("ValueError" in rec["error"] and rec["error_kind"] == "exception" for rec in failed)


def test_two_worker_processes_run_a_task_function_defined_in_main(tmp_path: Path) -> None:
    r = run_app(tmp_path, "sphere/sphere.py", "hydra.sweeper.n_jobs=2", "hydra.sweeper.n_trials=4")
    assert r.returncode == 0, r.stderr
    trials = study(tmp_path / "sweep", "sphere").trials
    assert sum(t.state == optuna.trial.TrialState.COMPLETE for t in trials) == 4


def test_rerunning_a_user_sweep_resumes_to_the_exact_budget(tmp_path: Path) -> None:
    assert run_app(tmp_path, "sphere/sphere.py", "hydra.sweeper.n_trials=3").returncode == 0
    r = run_app(tmp_path, "sphere/sphere.py", "hydra.sweeper.n_trials=5")
    assert r.returncode == 0, r.stderr
    trials = study(tmp_path / "sweep", "sphere").trials
    assert [t.number for t in trials] == [0, 1, 2, 3, 4]
    assert len(results(tmp_path / "sweep")) == 5


def test_lightning_template_style_project_with_hparams_search_group(tmp_path: Path) -> None:
    r = run_app(tmp_path, "lht/src/train.py", "hparams_search=tiny_optuna")
    assert r.returncode == 0, r.stderr
    s = study(tmp_path / "sweep", "train")  # study_name: null -> the job's name, stable for resume
    assert s.direction == optuna.study.StudyDirection.MAXIMIZE
    done = [t for t in s.trials if t.state == optuna.trial.TrialState.COMPLETE]
    assert len(done) == 6
    assert set(done[0].params) == {"model.lr", "data.batch_size", "model.width"}
    # The sampler came from the _target_ block, its own arguments included.
    search = (tmp_path / "sweep" / "search.yaml").read_text()
    assert "n_ei_candidates: 24" in search and "seed: 1234" in search


def test_custom_search_space_relative_to_the_app_and_a_random_sampler_block(tmp_path: Path) -> None:
    r = run_app(tmp_path, "lht/src/train.py", "hparams_search=random_custom")
    assert r.returncode == 0, r.stderr
    trials = study(tmp_path / "sweep", "train").trials
    assert len(trials) == 4
    for t in trials:  # model.width was suggested by search_space.configure, which returns None
        assert t.params["model.width"] % 16 == 0
        assert t.state == optuna.trial.TrialState.COMPLETE
    rec = results(tmp_path / "sweep")[0]
    assert "model.width" in rec["params"]


@pytest.mark.parametrize(
    "target",
    ["CmaEsSampler", "QMCSampler", "GPSampler", "NSGAIISampler", "RandomSampler", "GridSampler"],
)
def test_sampler_target_blocks_build_each_optuna_sampler(tmp_path: Path, target: str) -> None:
    r = run_app(
        tmp_path,
        "sphere/sphere.py",
        f"hydra.sweeper.sampler._target_=optuna.samplers.{target}",
        "hydra.sweeper.dry_run=true",
    )
    assert r.returncode == 0, r.stderr
    assert f"sampler: {target}" in r.stdout


def test_legacy_search_space_runs_with_a_deprecation_line_naming_its_params_form(
    tmp_path: Path,
) -> None:
    # hydra-optuna-sweeper 1.2/1.3 still read the old form, with a deprecation warning.
    r = run_app(
        tmp_path,
        "sphere/sphere.py",
        "hydra.sweeper.n_trials=4",
        "hydra.sweeper.params=null",
        "+hydra.sweeper.search_space={x:{type:float,low:-5.5,high:5.5,step:0.5},"
        "y:{type:int,low:1,high:100,log:true}}",
    )
    assert r.returncode == 0, r.stderr
    assert "deprecated" in r.stderr and "Traceback" not in r.stderr
    assert "x: range(-5.5, 5.5, step=0.5); y: tag(log, int(interval(1, 100)))" in r.stderr
    s = study(tmp_path / "sweep", "sphere")
    assert len(s.trials) == 4
    for t in s.trials:
        assert (t.params["x"] * 2) % 1 == 0 and -5.5 <= t.params["x"] <= 5.5
        assert isinstance(t.params["y"], int) and 1 <= t.params["y"] <= 100


@pytest.mark.parametrize(
    ("override", "says"),
    [
        ("+hydra.sweeper.sampler.n_ei_candidatz=3", "has no argument 'n_ei_candidatz'"),
        ("hydra.sweeper.sampler._target_=optuna.samplers.NoSuchSampler", "not an importable class"),
        ("hydra.sweeper.custom_search_space=.nowhere.configure", "cannot be imported"),
        ("hydra.sweeper.direction=maximise", "use minimize or maximize"),
    ],
)
def test_bad_sweeper_settings_of_a_user_app_are_one_line_and_exit_2(
    tmp_path: Path, override: str, says: str
) -> None:
    r = run_app(tmp_path, "sphere/sphere.py", override)
    assert r.returncode == 2, r.stderr
    assert says in r.stderr and len(r.stderr.strip().splitlines()) == 1, r.stderr
    assert not list((tmp_path / "sweep").glob("*/result.json"))


@pytest.mark.parametrize(
    ("returned", "n", "status", "kind"),
    [
        (0.5, 1, "COMPLETE", None),
        ((1, 2.5), 2, "COMPLETE", None),
        (float("nan"), 1, "FAIL", "nan"),
        ((1.0, float("inf")), 2, "FAIL", "nan"),
        (None, 1, "FAIL", "config"),
        ({"acc": 0.9}, 1, "FAIL", "config"),
        ("0.5", 1, "FAIL", "config"),
        (True, 1, "FAIL", "config"),
        ((1.0, 2.0), 1, "FAIL", "config"),
    ],
)
def test_a_user_task_return_value_becomes_values_or_a_reasoned_failure(
    returned: object, n: int, status: str, kind: str | None
) -> None:
    from hpt.sweep.running.objective import judge

    verdict = judge(returned, n)
    assert (verdict.status, verdict.error_kind) == (status, kind)
    assert (verdict.error is None) == (status == "COMPLETE")


def test_max_failure_rate_zero_stops_at_the_first_failure_with_its_error(tmp_path: Path) -> None:
    # The old plugin's default and its sphere example's setting: 0.0 means no failure at all.
    r = run_app(
        tmp_path,
        "sphere/sphere.py",
        "hydra.sweeper.max_failure_rate=0.0",
        "hydra.sweeper.n_trials=10",
        "+fail_above=-10",
    )
    assert r.returncode == 1
    assert len(study(tmp_path / "sweep", "sphere").trials) == 1
    assert "1 of 1 finished trials failed" in r.stderr
    assert "ValueError: x=" in r.stderr.splitlines()[-1] and "Traceback" not in r.stderr
    assert "hpt sweep " not in r.stderr  # a user app never hears of hpt's own CLI


def test_plus_key_searches_a_key_the_config_does_not_have(tmp_path: Path) -> None:
    r = run_app(tmp_path, "sphere/sphere.py", "hydra.sweeper.n_trials=3", "+extra=choice(1, 2)")
    assert r.returncode == 0, r.stderr
    for t in study(tmp_path / "sweep", "sphere").trials:
        assert t.state == optuna.trial.TrialState.COMPLETE and t.params["+extra"] in (1, 2)
    overrides = (tmp_path / "sweep" / "0" / ".hydra" / "overrides.yaml").read_text()
    assert "+extra=" in overrides


def test_an_unguarded_script_with_two_workers_is_an_error_naming_the_main_guard(
    tmp_path: Path,
) -> None:
    r = run_app(
        tmp_path, "unguarded/unguarded.py", "hydra.sweeper.n_jobs=2", "hydra.sweeper.n_trials=2"
    )
    assert r.returncode == 2
    assert "every worker process died on start" in r.stderr.splitlines()[-1]
    assert 'if __name__ == "__main__":' in r.stderr.splitlines()[-1]


def test_spawned_workers_keep_the_apps_job_name(tmp_path: Path) -> None:
    r = run_app(tmp_path, "sphere/sphere.py", "hydra.sweeper.n_jobs=2", "hydra.sweeper.n_trials=2")
    assert r.returncode == 0, r.stderr
    for hydra_yaml in (tmp_path / "sweep").glob("*/.hydra/hydra.yaml"):
        assert "name: sphere\n" in hydra_yaml.read_text()
