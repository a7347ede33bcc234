"""`hpt sweep` end to end: real Hydra multirun, real Optuna journal storage, real MNIST subset."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import optuna
import pytest
from helpers import trial_results

from hpt.storage import open_storage
from hpt.sweep.running import accounting

REPO = Path(__file__).resolve().parents[2]
TINY = ["data=mnist_tiny", "data.subset=600", "trainer.epochs=1", "trainer.eval_batch_size=512"]


def sweep(
    tmp_path: Path, *args: str, sweep_dir: Path | None = None, timeout: float = 240
) -> subprocess.CompletedProcess[str]:
    sweep_dir = sweep_dir or tmp_path / "sweep"
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    cmd = [sys.executable, "-m", "hpt", "sweep", *TINY, f"hydra.sweep.dir={sweep_dir}", *args]
    return subprocess.run(
        cmd, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=timeout
    )


def load(sweep_dir: Path, name: str) -> optuna.Study:
    return optuna.load_study(
        study_name=name, storage=open_storage(str(sweep_dir / "study.journal"))
    )


results = trial_results


def test_sweeper_plugin_is_discovered_by_hydra() -> None:
    from hydra.core.plugins import Plugins
    from hydra.plugins.sweeper import Sweeper

    names = [p.__name__ for p in Plugins.instance().discover(Sweeper)]
    assert "HptSweeper" in names


def test_dry_run_prints_space_sampler_pruner_and_grid_size(tmp_path: Path) -> None:
    r = sweep(tmp_path, "search=grid", "hydra.sweeper.dry_run=true")
    assert r.returncode == 0, r.stderr
    assert "GridSampler" in r.stdout and "NopPruner" in r.stdout
    assert "grid points: 12" in r.stdout
    assert "optimizer.lr" in r.stdout
    assert not (tmp_path / "sweep" / "study.journal").exists()  # nothing trained, nothing stored


@pytest.mark.parametrize("search", ["random", "grid", "tpe", "gp", "cmaes", "qmc"])
def test_each_sampler_runs_a_real_sweep_with_contract_run_dirs(tmp_path: Path, search: str) -> None:
    r = sweep(tmp_path, f"search={search}", "hydra.sweeper.n_trials=3")
    assert r.returncode == 0, r.stderr[-2000:]
    sweep_dir = tmp_path / "sweep"
    info = json.loads((sweep_dir / "sweep.json").read_text())
    assert info["n_trials"] == 3
    assert sum(info["counts"][s] for s in ("COMPLETE", "PRUNED", "FAIL")) == 3
    assert info["best"] and info["best"][0]["dir"].startswith("trial_")
    runs = results(sweep_dir)
    assert sorted(runs) == [0, 1, 2]
    for number, res in runs.items():
        d = sweep_dir / f"trial_{number:04d}"
        assert (
            (d / "metrics.jsonl").exists()
            and (d / "manifest.json").exists()
            and (d / ".hydra" / "config.yaml").exists()
        )
        assert res["status"] in ("COMPLETE", "PRUNED")
    assert "best trial #" in r.stdout


def test_aggressive_pruner_prunes_and_pruned_runs_keep_their_epochs(tmp_path: Path) -> None:
    r = sweep(
        tmp_path,
        "search=random",
        "hydra/sweeper/pruner=percentile",
        "hydra.sweeper.pruner.percentile=90",
        "hydra.sweeper.pruner.n_startup_trials=1",
        "hydra.sweeper.pruner.n_warmup_steps=0",
        "hydra.sweeper.n_trials=5",
        "trainer.epochs=3",
    )
    assert r.returncode == 0, r.stderr[-2000:]
    runs = results(tmp_path / "sweep")
    pruned = [n for n, res in runs.items() if res["status"] == "PRUNED"]
    assert pruned, {n: res["status"] for n, res in runs.items()}
    study = load(tmp_path / "sweep", "random")
    assert {t.number for t in study.trials if t.state.name == "PRUNED"} == set(pruned)
    for t in study.trials:
        if t.state.name == "PRUNED":
            lines = (
                (tmp_path / "sweep" / f"trial_{t.number:04d}" / "metrics.jsonl")
                .read_text()
                .splitlines()
            )
            # the epochs run so far are recorded, and pruning happened at the last reported one
            assert len(lines) == max(t.intermediate_values) == len(t.intermediate_values)


def test_two_workers_share_one_study_with_unique_trials_and_dirs(tmp_path: Path) -> None:
    r = sweep(tmp_path, "search=random", "hydra.sweeper.n_trials=6", "hydra.sweeper.n_jobs=2")
    assert r.returncode == 0, r.stderr[-2000:]
    sweep_dir = tmp_path / "sweep"
    study = load(sweep_dir, "random")
    counted = [t for t in study.trials if accounting.counts(t)]
    assert len(counted) == 6 and all(t.state.name == "COMPLETE" for t in counted)
    dirs = [t.user_attrs["dir"] for t in counted]
    assert len(set(dirs)) == 6
    assert {
        json.loads((sweep_dir / d / "result.json").read_text())["trial"]["number"] for d in dirs
    } == {t.number for t in counted}
    pids = {accounting.owner(t)[1] for t in counted}
    assert len(pids) == 2  # both workers took trials


def test_rerun_resumes_to_the_total_budget_with_continuing_numbers(tmp_path: Path) -> None:
    assert sweep(tmp_path, "search=random", "hydra.sweeper.n_trials=2").returncode == 0
    r = sweep(tmp_path, "search=random", "hydra.sweeper.n_trials=4")
    assert r.returncode == 0, r.stderr[-2000:]
    study = load(tmp_path / "sweep", "random")
    assert sorted(t.number for t in study.trials) == [0, 1, 2, 3]
    again = sweep(tmp_path, "search=random", "hydra.sweeper.n_trials=4")  # budget already spent
    assert again.returncode == 0
    assert len(load(tmp_path / "sweep", "random").trials) == 4


def test_resume_with_a_changed_search_space_is_refused(tmp_path: Path) -> None:
    assert sweep(tmp_path, "search=random", "hydra.sweeper.n_trials=1").returncode == 0
    r = sweep(
        tmp_path, "search=random", "hydra.sweeper.n_trials=2", "optimizer.lr=interval(0.1, 0.2)"
    )
    assert r.returncode == 2
    assert "different search space" in r.stderr
    # The refusal names the sweep's folder and a free one to start the new sweep in.
    assert f"in {tmp_path / 'sweep'} was created" in r.stderr
    assert f"start a new sweep with hydra.sweep.dir={tmp_path / 'sweep'}-2" in r.stderr
    assert "Traceback" not in r.stderr and len(r.stderr.strip().splitlines()) == 1


def test_a_refused_sweep_leaves_no_sweep_dir(tmp_path: Path) -> None:
    r = sweep(tmp_path)  # no search space: refused after the sweep dir's checks
    assert r.returncode == 2 and "nothing to search" in r.stderr
    assert not (tmp_path / "sweep").exists()


def test_nan_and_exception_trials_fail_with_reasons_while_the_sweep_completes(
    tmp_path: Path,
) -> None:
    # lr 1e6 diverges to NaN; batch_size 0 raises inside the run; the rest train normally.
    r = sweep(
        tmp_path,
        "optimizer.lr=choice(1e6, 1e-3)",
        "trainer.batch_size=choice(0, 64)",
        "hydra/sweeper/sampler=grid",
        "hydra.sweeper.n_trials=4",
        "hydra.sweeper.max_failure_rate=1.0",
        "optimizer=sgd",
    )
    assert r.returncode == 0, r.stderr[-2000:]
    runs = results(tmp_path / "sweep")
    by_params = {
        (res["params"].get("optimizer.lr"), res["params"].get("trainer.batch_size")): res
        for res in runs.values()
    }
    assert by_params[(1e-3, 64)]["status"] == "COMPLETE"
    nan_run = by_params[(1e6, 64)]
    assert (
        nan_run["status"] == "FAIL"
        and nan_run["error_kind"] == "nan"
        and "non-finite" in nan_run["error"]
    )
    for lr in (1e6, 1e-3):
        bad = by_params[(lr, 0)]
        assert bad["status"] == "FAIL" and bad["error"]
    study = load(tmp_path / "sweep", "hpt")
    assert sorted(t.state.name for t in study.trials) == ["COMPLETE", "FAIL", "FAIL", "FAIL"]
    assert all(t.user_attrs.get("error") for t in study.trials if t.state.name == "FAIL")


def test_a_sampled_value_out_of_range_fails_that_trial_as_a_config_error(tmp_path: Path) -> None:
    # The space is not checked against the ranges up front (a sampler may draw anything in
    # it): the trial that draws model.width=0 fails with the same line `hpt train` gives.
    space = ["model.width=choice(0, 32)", "hydra/sweeper/sampler=grid"]
    r = sweep(tmp_path, *space, "hydra.sweeper.n_trials=2", "hydra.sweeper.max_failure_rate=1.0")
    assert r.returncode == 0, r.stderr[-2000:]
    by_width = {res["params"]["model.width"]: res for res in results(tmp_path / "sweep").values()}
    assert by_width[32]["status"] == "COMPLETE"
    bad = by_width[0]
    assert bad["status"] == "FAIL" and bad["error_kind"] == "config"
    assert "model.width=0" in bad["error"]


def test_failure_rate_over_the_whole_sweep_stops_it_with_exit_1(tmp_path: Path) -> None:
    r = sweep(
        tmp_path,
        "trainer.batch_size=choice(0)",
        "hydra.sweeper.n_trials=10",
        "hydra.sweeper.min_failures=3",
    )
    assert r.returncode == 1
    lines = r.stderr.splitlines()  # the stop, then each distinct trial error on one line
    assert "3 of 3 finished trials failed" in lines[-2]
    assert (
        lines[-1]
        == "  trial #0, #1, #2: UserError: trainer.batch_size=0: must be an integer in [1, 2147483647]."
    )
    assert "Traceback" not in r.stderr
    assert len(load(tmp_path / "sweep", "hpt").trials) == 3


def test_multi_objective_sweep_reports_a_pareto_set(tmp_path: Path) -> None:
    r = sweep(tmp_path, "search=pareto", "hydra.sweeper.n_trials=4")
    assert r.returncode == 0, r.stderr[-2000:]
    info = json.loads((tmp_path / "sweep" / "sweep.json").read_text())
    assert info["directions"] == ["maximize", "minimize"]
    assert info["objectives"] == ["val/acc", "model/n_params"]
    front = info["best"]
    assert front and all(len(b["values"]) == 2 for b in front)
    # No member of the front is dominated by another.
    for a in front:
        for b in front:
            assert not (
                b["values"][0] >= a["values"][0]
                and b["values"][1] <= a["values"][1]
                and b["values"] != a["values"]
            )


def test_enqueued_configs_run_first(tmp_path: Path) -> None:
    r = sweep(
        tmp_path,
        "search=random",
        "hydra.sweeper.n_trials=2",
        "+hydra.sweeper.enqueue=[{optimizer: sgd, optimizer.lr: 0.05}]",
    )
    assert r.returncode == 0, r.stderr[-2000:]
    first = load(tmp_path / "sweep", "random").trials[0]
    assert first.params["optimizer"] == "sgd" and first.params["optimizer.lr"] == 0.05


def test_staged_search_starts_from_the_earlier_best(tmp_path: Path) -> None:
    first_dir = tmp_path / "stage1"
    assert (
        sweep(tmp_path, "search=random", "hydra.sweeper.n_trials=3", sweep_dir=first_dir).returncode
        == 0
    )
    best = json.loads((first_dir / "sweep.json").read_text())["best"][0]["params"]
    second_dir = tmp_path / "stage2"
    r = sweep(
        tmp_path,
        "search=refine",
        f"+from_sweep={first_dir}",
        "hydra.sweeper.n_trials=2",
        sweep_dir=second_dir,
    )
    assert r.returncode == 0, r.stderr[-2000:]
    study = load(second_dir, "refine")
    first = study.trials[0]
    assert first.params == {k: best[k] for k in ("optimizer.lr", "regularization.weight_decay")}
    # Parameters the new space no longer searches are fixed at the earlier best for every trial.
    info = json.loads((second_dir / "sweep.json").read_text())
    assert f"optimizer={best['optimizer']}" in info["fixed"]
    for res in results(second_dir).values():
        assert res["params"]["optimizer.name"] == best["optimizer"]
        assert res["params"]["trainer.batch_size"] == best["trainer.batch_size"]


def test_rerunning_the_same_command_resumes_in_the_default_sweep_dir(tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    cmd = [sys.executable, "-m", "hpt", "sweep", *TINY, "search=random", "trainer.device=cpu"]

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        r = subprocess.run(
            [*cmd, *args], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=240
        )
        assert r.returncode == 0, r.stderr
        return r

    first = run("hydra.sweeper.n_trials=2")  # no hydra.sweep.dir: named for the sweep
    (sweep_dir,) = (tmp_path / "outputs" / "sweeps").iterdir()
    assert sweep_dir.name.startswith("random-mnist_tiny-")
    assert f"hpt sweep: new sweep in {sweep_dir}" in first.stderr
    second = run("hydra.sweeper.n_trials=3")  # a bigger budget is the same sweep
    assert f"hpt sweep: resuming {sweep_dir}: 2 of 3 trials done" in second.stderr
    assert [d.name for d in (tmp_path / "outputs" / "sweeps").iterdir()] == [sweep_dir.name]
    assert [t.number for t in load(sweep_dir, "random").trials] == [0, 1, 2]
    done = run("hydra.sweeper.n_trials=3")  # said before any worker starts
    line = f"hpt sweep: {sweep_dir} is done (3 of 3 trials); raise hydra.sweeper.n_trials"
    assert line in done.stderr and f"hydra.sweep.dir={sweep_dir}-2" in done.stderr
    assert "trial 3" not in done.stdout + done.stderr


def test_the_same_search_on_other_data_is_a_sweep_of_its_own(tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    cmd = [sys.executable, "-m", "hpt", "sweep", "search=random", "hydra.sweeper.n_trials=1"]
    for data in (TINY, ["data=binary", "trainer.epochs=1"]):
        r = subprocess.run(
            [*cmd, *data], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=240
        )
        assert r.returncode == 0, r.stderr  # not refused by the first sweep's study
    names = sorted(d.name for d in (tmp_path / "outputs" / "sweeps").iterdir())
    assert [n.rsplit("-", 1)[0] for n in names] == ["random-binary", "random-mnist_tiny"]


def test_sweep_help_documents_the_settings_and_the_grammar() -> None:
    from hpt.sweep.command import HELP, sweep_main

    assert sweep_main(["--help"]) == 0
    for word in (
        "n_trials",
        "n_jobs",
        "storage",
        "pruner",
        "sampler",
        "interval(",
        "tag(log",
        "choice(",
        "range(",
        "trial_timeout",
        "max_failure_rate",
    ):
        assert word in HELP


@pytest.mark.parametrize(
    "argv",
    [
        ["search=random", "--cfg", "job", "model.width=48"],
        ["--cfg", "job", "search=random", "model.width=48", "-m"],
        ["search=random", "-m", "model.width=48", "--cfg", "job"],
    ],
)
def test_hydra_flags_work_in_any_position(tmp_path: Path, argv: list[str]) -> None:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    r = subprocess.run(
        [sys.executable, "-m", "hpt", "sweep", *argv],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert r.returncode == 0, r.stderr
    assert "width: 48" in r.stdout
