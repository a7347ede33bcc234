"""A sweep on a small real table (scikit-learn's breast cancer, 450 training rows): 5-fold
validation without being asked, the chosen trial's standard error against the baseline, and
the refit into SWEEP/best/ that predict, eval and export use given the sweep dir."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from helpers import run_cli
from helpers.sk_data import shared_dir

SWEEP = [
    "sweep",
    "search=table",
    "data=table",
    "data.target=target",
    "hydra.sweeper.n_trials=3",
    "trainer.epochs=3",
]


def _bc_sweep(sweep_dir: Path) -> list[str]:
    """The table sweep on bc_train.csv (test rows: bc_test.csv) into ``sweep_dir``."""
    tables = shared_dir()
    return [
        *SWEEP,
        f"data.path={tables / 'bc_train.csv'}",
        f"data.test_path={tables / 'bc_test.csv'}",
        f"hydra.sweep.dir={sweep_dir}",
    ]


@pytest.fixture(scope="module")
def swept(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str, str]:
    """One 3-trial sweep of the table search on bc_train.csv (test rows: bc_test.csv)."""
    where = tmp_path_factory.mktemp("refit")
    r = run_cli(_bc_sweep(where / "sweep"), where)
    assert r.rc == 0, r.stderr
    return where / "sweep", r.stdout, r.stderr


def test_a_sweep_on_a_small_table_cross_validates_its_trials_and_says_so(
    swept: tuple[Path, str, str],
) -> None:
    sweep, _, err = swept
    assert err.count("trainer.folds=auto: 5-fold cross-validation, the table has 450 rows") == 1
    for trial in sorted(sweep.glob("trial_*")):
        result = json.loads((trial / "result.json").read_text())
        if result["status"] == "COMPLETE":
            assert result["cv"]["folds"] == 5 and result["rows"]["val"] == 90
            assert result["diverged"] is False


def test_the_sweep_reports_its_choice_with_its_error_against_the_baseline(
    swept: tuple[Path, str, str],
) -> None:
    sweep, out, _ = swept
    record = json.loads((sweep / "sweep.json").read_text())
    best, baseline = record["best"][0], record["baseline"]
    assert baseline["number"] == 0 and best["se"] > 0  # across the five folds
    assert f"best val/acc={best['values'][0]:.4g} ± " in out
    assert f"baseline {baseline['values'][0]:.4g}" in out


def test_the_chosen_config_is_refit_on_every_training_row_into_sweep_best(
    swept: tuple[Path, str, str],
) -> None:
    sweep, out, _ = swept
    record = json.loads((sweep / "sweep.json").read_text())
    refit = record["refit"]
    best = sweep / "best"
    result = json.loads((best / "result.json").read_text())
    chosen = json.loads((sweep / record["best"][0]["dir"] / "result.json").read_text())
    assert refit["dir"] == "best" and refit["trial"] == record["best"][0]["number"]
    assert result["status"] == "COMPLETE" and result["params"]["trainer.refit"] is True
    assert result["rows"]["train"] == 450  # the validation rows train too
    assert result["epochs"] == refit["epochs"] == result["best"]["epoch"]  # the last epoch
    assert refit["epochs"] in chosen["cv"]["best_epochs"] or refit["epochs"] >= 1
    assert refit["test"]["test/acc"] == result["test"]["test/acc"]
    assert f"best model: {best}" in out and not (sweep / "best.tmp").exists()


def test_predict_eval_and_export_given_the_sweep_dir_use_the_refit_model(
    swept: tuple[Path, str, str], tmp_path: Path
) -> None:
    sweep, _, _ = swept
    test_csv = shared_dir() / "bc_test.csv"
    r = run_cli(["predict", str(sweep), str(test_csv), "-o", "p.csv"], tmp_path)
    assert r.rc == 0, r.stderr
    assert len(pd.read_csv(tmp_path / "p.csv")) == len(pd.read_csv(test_csv))
    r = run_cli(["eval", str(sweep), "--json", "m.json"], tmp_path)
    assert r.rc == 0, r.stderr
    refit_test = json.loads((sweep / "best" / "result.json").read_text())["test"]
    report = json.loads((tmp_path / "m.json").read_text())
    assert report["run_dir"] == str(sweep / "best")
    assert report["metrics"]["test/acc"] == pytest.approx(refit_test["test/acc"])
    r = run_cli(["export", str(sweep), "-o", "model.pt"], tmp_path)  # m.json is eval's
    assert r.rc == 0, r.stderr
    assert (tmp_path / "model.pt").is_file()


def test_a_rerun_of_a_finished_sweep_keeps_its_refit(
    swept: tuple[Path, str, str], tmp_path: Path
) -> None:
    sweep, _, _ = swept
    before = (sweep / "best" / "refit.json").stat().st_mtime_ns
    r = run_cli(_bc_sweep(sweep), tmp_path)
    assert r.rc == 0, r.stderr
    assert (sweep / "best" / "refit.json").stat().st_mtime_ns == before
    assert "best model:" in r.stdout and "refit:" not in r.stdout


def test_trainer_folds_1_keeps_the_holdout_and_its_own_model(tmp_path: Path) -> None:
    tables = shared_dir()
    args = [
        *SWEEP[:-2],
        "hydra.sweeper.n_trials=1",
        "trainer.epochs=1",
        "trainer.folds=1",
        f"data.path={tables / 'bc_train.csv'}",
        f"hydra.sweep.dir={tmp_path / 'sweep'}",
    ]
    r = run_cli(args, tmp_path)
    assert r.rc == 0, r.stderr
    result = json.loads((tmp_path / "sweep" / "trial_0000" / "result.json").read_text())
    assert "cv" not in result and "trainer.folds=auto" not in r.stderr
    assert not (tmp_path / "sweep" / "best").exists()  # refit=auto: the trial's model is whole
    r = run_cli(
        ["predict", str(tmp_path / "sweep"), str(tables / "bc_test.csv"), "-o", "p.csv"], tmp_path
    )
    assert r.rc == 0, r.stderr  # the sweep dir stands for its chosen trial


def test_summarize_ranks_the_trials_with_their_error_and_leaves_the_refit_out(
    swept: tuple[Path, str, str], tmp_path: Path
) -> None:
    sweep, _, _ = swept
    r = run_cli(["summarize", str(sweep), "--format", "csv", "-o", "runs.csv"], tmp_path)
    assert r.rc == 0, r.stderr
    runs = pd.read_csv(tmp_path / "runs.csv")
    assert "best" not in set(runs["run"]) and len(runs) == 3  # its validation rows trained
    done = runs[runs["status"] == "COMPLETE"]
    assert (done["se"] > 0).all()  # across the five folds
    r = run_cli(["summarize", str(sweep)], tmp_path)
    assert r.rc == 0, r.stderr
    assert "refit on every row" in r.stdout and f"hpt predict {sweep} INPUT" in r.stdout


def test_summarize_breaks_a_tie_on_the_value_by_the_validation_loss() -> None:
    from hpt.summarize.query import rank_runs

    frame = pd.DataFrame(
        {
            "run": ["a", "b", "c"],
            "status": ["COMPLETE"] * 3,
            "objective": ["val/acc"] * 3,
            "value": [0.95, 0.95, 0.90],
            "direction": ["maximize"] * 3,
            "best.val/loss": [0.40, 0.20, 0.01],
        }
    )
    assert list(rank_runs(frame)["run"]) == ["b", "a", "c"]
