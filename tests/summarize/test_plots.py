"""``--plots`` with and without a study, and study-based importance."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import optuna
import pytest
from helpers.summarize_fixtures import synthetic_sweep, write_run, write_sweep

from hpt.storage import open_storage
from hpt.summarize.cli import main
from hpt.summarize.collect import collect_runs
from hpt.summarize.study import StudyUnavailable, load_study

PNG = b"\x89PNG\r\n\x1a\n"
ROOT = Path(__file__).resolve().parents[2]


def _assert_pngs(folder: Path, names: set[str]) -> None:
    found = {p.name for p in folder.iterdir() if not p.name.startswith(".")}
    assert found == names
    for name in names:
        data = (folder / name).read_bytes()
        assert data.startswith(PNG) and len(data) > 1000, name


def study_sweep(path: Path, n: int = 12, multi: bool = False) -> Path:
    """A sweep whose study.journal holds a real Optuna study matching its trial dirs."""
    directions = ["maximize", "minimize"] if multi else ["maximize"]
    objectives = ["val/acc", "model/n_params"] if multi else ["val/acc"]
    sweep = write_sweep(path, study_name="real", directions=directions, objectives=objectives)
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(
        storage=open_storage(str(sweep / "study.journal")),
        study_name="real",
        directions=directions,
        sampler=optuna.samplers.RandomSampler(seed=0),
    )
    for number in range(n):
        trial = study.ask()
        lr = trial.suggest_float("optimizer.lr", 1e-4, 1e-1, log=True)
        opt = trial.suggest_categorical("optimizer.name", ["adamw", "sgd"])
        acc = 0.99 - 0.04 * abs(lr - 1e-3) ** 0.5 - (0.03 if opt == "sgd" else 0.0)
        size = 1000.0 * (number + 1)
        status = "PRUNED" if not multi and number % 4 == 3 else "COMPLETE"
        epochs = 1 if status == "PRUNED" else 3
        for epoch in range(1, epochs + 1):
            if not multi:
                trial.report(acc * (0.7 + 0.1 * epoch), epoch)
        if status == "PRUNED":
            study.tell(trial, state=optuna.trial.TrialState.PRUNED)
        else:
            study.tell(trial, [acc, size] if multi else acc)
        write_run(
            sweep / f"trial_{number:04d}",
            status=status,
            trial=number,
            study_name="real",
            epochs=epochs,
            params={"optimizer.lr": lr, "optimizer.name": opt},
            objectives=[("val/acc", acc, "maximize"), ("model/n_params", size, "minimize")]
            if multi
            else None,
            value=acc,
        )
    return sweep


TABLE_PLOTS = {
    "optimization_history.png",
    "parallel_coordinates.png",
    "param_importances.png",
    "learning_curves.png",
    "intermediate_values.png",
}


def test_plots_without_a_study(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    sweep = synthetic_sweep(tmp_path / "s", 20)  # sweep.json names a journal that is absent
    out = tmp_path / "plots"
    assert main([str(sweep), "--plots", str(out), "--width", "120"]) == 0
    _assert_pngs(out, TABLE_PLOTS)
    stdout, err = capsys.readouterr()
    printed = re.findall(r"^plot: (.+)$", stdout, re.M)
    assert sorted(Path(p).name for p in printed) == sorted(TABLE_PLOTS)
    assert "warning" not in err
    assert not (sweep / "study.journal").exists()  # never created by looking for it


def test_plots_without_a_study_multi_objective_adds_pareto(tmp_path: Path) -> None:
    for i, (acc, size) in enumerate([(0.9, 1.0), (0.95, 5.0), (0.93, 9.0), (0.97, 20.0)]):
        write_run(
            tmp_path / "runs" / f"r{i}",
            params={"model.hidden": 2**i},
            objectives=[("val/acc", acc, "maximize"), ("model/n_params", size, "minimize")],
        )
    out = tmp_path / "plots"
    assert main([str(tmp_path / "runs"), "--plots", str(out), "--format", "json"]) == 0
    _assert_pngs(out, TABLE_PLOTS | {"pareto_front.png"})


def test_study_is_loaded_and_used_for_importance(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    sweep = study_sweep(tmp_path / "s")
    info = collect_runs([sweep]).sweeps[str(sweep)]
    study = load_study(info)
    assert len(study.trials) == 12
    assert main([str(sweep), "--width", "120"]) == 0
    out = capsys.readouterr().out
    section = out.split("Hyperparameter importance")[1]
    assert "method: Optuna fANOVA (study)" in section
    assert set(re.findall(r"^(optimizer\.\w+)\s+\d\.\d{3}", section, re.M)) == {
        "optimizer.lr",
        "optimizer.name",
    }


def test_no_study_flag_uses_the_table(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    sweep = study_sweep(tmp_path / "s", n=8)
    assert main([str(sweep), "--no-study", "--width", "120"]) == 0
    assert "method: table-based" in capsys.readouterr().out


def test_plots_with_a_study(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    sweep = study_sweep(tmp_path / "s")
    out = tmp_path / "plots"
    assert (
        main([str(sweep), "--plots", str(out), "--format", "csv", "-o", str(tmp_path / "x.csv")])
        == 0
    )
    _assert_pngs(out, TABLE_PLOTS)
    err = capsys.readouterr().err
    assert "warning" not in err  # every optuna plot worked, none fell back
    assert err.count("plot: ") == 5


def test_plots_with_a_multi_objective_study(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    sweep = study_sweep(tmp_path / "s", n=10, multi=True)
    out = tmp_path / "plots"
    assert main([str(sweep), "--plots", str(out), "--width", "120"]) == 0
    _assert_pngs(out, TABLE_PLOTS | {"pareto_front.png"})
    captured = capsys.readouterr()
    assert "Pareto set" in captured.out


def test_broken_storage_falls_back_with_one_warning(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    sweep = synthetic_sweep(tmp_path / "s", 10)
    (sweep / "study.journal").write_text("this is not a journal\n")
    assert main([str(sweep), "--width", "120"]) == 0
    captured = capsys.readouterr()
    warnings = [line for line in captured.err.splitlines() if line.startswith("warning:")]
    assert len(warnings) == 1 and "using the runs table instead" in warnings[0]
    assert "method: table-based" in captured.out


def test_load_study_without_storage_raises(tmp_path: Path) -> None:
    sweep = synthetic_sweep(tmp_path / "s", 2)
    info = collect_runs([sweep]).sweeps[str(sweep)]
    with pytest.raises(StudyUnavailable, match="no study storage"):
        load_study(info)


@pytest.mark.slow  # a fresh interpreter importing optuna.importance (+ scikit-learn): ~8 s
def test_study_importance_path_never_imports_torch(tmp_path: Path) -> None:
    sweep = study_sweep(tmp_path / "s", n=6)
    code = (
        "import sys, io, contextlib\n"
        "from hpt.summarize.cli import main\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        f"    rc = main([{str(sweep)!r}])\n"
        "assert rc == 0, rc\n"
        "print('torch' in sys.modules, 'optuna' in sys.modules)\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["False", "True"]
