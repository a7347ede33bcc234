"""``--html FILE``: one self-contained report, its charts, and its rendering in chromium."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import optuna
import pytest
from helpers import browser
from helpers.summarize_fixtures import write_run, write_sweep

from hpt.storage import open_storage
from hpt.summarize.cli import main
from hpt.summarize.collect import collect_runs
from hpt.summarize.html import build_charts
from hpt.summarize.query import rank_runs
from hpt.summarize.study import load_study, study_importance

ROOT = Path(__file__).resolve().parents[2]
SINGLE = {"history", "parallel", "importance", "curves", "timeline"}
needs_chromium = pytest.mark.skipif(
    not browser.CHROMIUM.exists(),
    reason="/usr/bin/chromium is absent (.ci/run installs Debian's chromium)",
)


def sweep_with_study(path: Path, n: int = 10, multi: bool = False) -> Path:
    """A sweep dir whose study.journal holds a real study: pruned trials, two workers."""
    directions = ["maximize", "minimize"] if multi else ["maximize"]
    objectives = ["val/acc", "model/n_params"] if multi else ["val/acc"]
    sweep = write_sweep(
        path,
        study_name="html",
        directions=directions,
        objectives=objectives,
        search_space={
            "optimizer.lr": "tag(log, interval(1e-4, 1e-1))",
            "optimizer.name": "choice(adamw, sgd)",
        },
    )
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(
        storage=open_storage(str(sweep / "study.journal")),
        study_name="html",
        directions=directions,
        sampler=optuna.samplers.RandomSampler(seed=0),
    )
    for number in range(n):
        trial = study.ask()
        lr = trial.suggest_float("optimizer.lr", 1e-4, 1e-1, log=True)
        opt = trial.suggest_categorical("optimizer.name", ["adamw", "sgd"])
        acc = 0.99 - 0.04 * abs(lr - 1e-3) ** 0.5 - (0.03 if opt == "sgd" else 0.0)
        size = 1000.0 * (number + 1)
        pruned = not multi and number % 4 == 3
        if pruned:
            trial.report(acc * 0.8, 1)
            trial.report(acc * 0.9, 2)
            study.tell(trial, state=optuna.trial.TrialState.PRUNED)
        else:
            study.tell(trial, [acc, size] if multi else acc)
        write_run(
            sweep / f"trial_{number:04d}",
            status="PRUNED" if pruned else "COMPLETE",
            trial=number,
            study_name="html",
            epochs=2 if pruned else 3,
            params={"optimizer.lr": lr, "optimizer.name": opt},
            objectives=[("val/acc", acc, "maximize"), ("model/n_params", size, "minimize")]
            if multi
            else None,
            value=acc,
            manifest={"pid": 100 + number % 2, "start_time": f"2026-11-21T10:{number:02d}:00"},
        )
    return sweep


def _check_in_chromium(html: Path, tmp_path: Path, expected: set[str]) -> None:
    page = browser.render(html, tmp_path)
    missing = {key for key in expected if page.charts.get(key, 0) == 0}
    if page.errors or missing or set(page.charts) != expected:
        shot = browser.screenshot(html, tmp_path / "report.png", tmp_path)
        pytest.fail(
            f"charts {sorted(page.charts.items())}, expected {sorted(expected)} rendered; "
            f"script errors: {page.errors}; screenshot: {shot}"
        )


@needs_chromium
def test_html_report_renders_every_chart_in_headless_chromium(tmp_path: Path) -> None:
    sweep = sweep_with_study(tmp_path / "s")
    html = tmp_path / "report.html"
    assert main([str(sweep), "--html", str(html), "--width", "120"]) == 0
    text = html.read_text(encoding="utf-8")
    assert "<script src=" not in text  # plotly.js is inlined, the page needs no network
    assert text.count("plotly.js v") == 1  # ... and inlined once, not once per chart
    assert "Top 10 runs" not in text and "runs, ranked by val/acc" in text  # the ranked table
    _check_in_chromium(html, tmp_path, SINGLE)


@needs_chromium
def test_html_report_of_a_multi_objective_sweep_has_a_pareto_front(tmp_path: Path) -> None:
    sweep = sweep_with_study(tmp_path / "s", n=8, multi=True)
    html = tmp_path / "report.html"
    assert (
        main([str(sweep), "--html", str(html), "--format", "json", "-o", str(tmp_path / "x.json")])
        == 0
    )
    _check_in_chromium(html, tmp_path, SINGLE | {"pareto"})


def test_charts_name_the_objective_and_show_pruned_trials(tmp_path: Path) -> None:
    sweep = sweep_with_study(tmp_path / "s", n=8)
    collection = collect_runs([sweep])
    study = load_study(collection.sweeps[str(sweep)])
    importance = study_importance(study)
    charts = {c.key: c for c in build_charts(collection, collection.frame, importance, study)}
    assert set(charts) == SINGLE

    history = charts["history"].figure
    best = rank_runs(collection.frame[collection.frame["status"] == "COMPLETE"]).iloc[0]["name"]
    assert history.layout.yaxis.title.text == "val/acc (maximize)"
    names = [t.name for t in history.data]
    assert "pruned (value where pruned)" in names
    pruned = next(t for t in history.data if t.name.startswith("pruned"))
    assert list(pruned.x) == [3.0, 7.0]  # trials 3 and 7 were pruned

    dims = {d.label: d for d in charts["parallel"].figure.data[0].dimensions}
    assert set(dims) == {"optimizer.lr (log)", "optimizer.name", "val/acc"}
    assert all(t.startswith("1e") for t in dims["optimizer.lr (log)"].ticktext)
    assert list(dims["optimizer.name"].ticktext) == ["adamw", "sgd"]

    assert "n=6 finished trials" in (charts["importance"].note or "")

    marks = [t for t in charts["curves"].figure.data if t.name == "pruned here"]
    assert sorted(float(t.x[0]) for t in marks) == [2.0, 2.0]  # at the pruning epoch
    legend = [t.name for t in charts["curves"].figure.data if t.showlegend]  # not one per run
    assert sorted(legend) == sorted(["complete", "pruned", "pruned here", f"best: {best}"])

    timeline = charts["timeline"].figure
    assert {y for t in timeline.data for y in t.y} == {"testhost:100", "testhost:101"}


def test_html_without_plotly_is_exit_2_with_the_install_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    sweep = sweep_with_study(tmp_path / "s", n=3)
    monkeypatch.setitem(sys.modules, "plotly", None)  # what `import plotly` meets without it
    assert main([str(sweep), "--html", str(tmp_path / "r.html")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [
        "hpt summarize: error: --html needs plotly: pip install 'hpt[report]' "
        "(from a checkout: pip install '.[report]')"
    ]
    assert not (tmp_path / "r.html").exists()


def test_html_into_a_directory_is_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main([str(tmp_path), "--html", str(tmp_path)]) == 2
    assert "is a directory" in capsys.readouterr().err


def test_html_report_never_imports_torch(tmp_path: Path) -> None:
    sweep = sweep_with_study(tmp_path / "s", n=4)
    code = (
        "import sys, io, contextlib\n"
        "from hpt.summarize.cli import main\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        f"    rc = main([{str(sweep)!r}, '--no-study', '--html', {str(tmp_path / 'r.html')!r}])\n"
        "assert rc == 0, rc\n"
        "print('torch' in sys.modules, 'plotly' in sys.modules)\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["False", "True"]


def test_parallel_axes_are_the_searched_settings(tmp_path: Path) -> None:
    sweep = write_sweep(tmp_path / "s", search_space={"optimizer.lr": "interval(0.001, 0.1)"})
    for i in range(4):
        write_run(
            sweep / f"trial_{i:04d}",
            trial=i,
            value=0.9 + i / 100,
            # dampening follows the optimizer choice but was not searched itself
            params={"optimizer.lr": 0.01 * (i + 1), "optimizer.dampening": 0.1 * (i % 2)},
        )
    collection = collect_runs([sweep])
    charts = {c.key: c for c in build_charts(collection, collection.frame, None)}
    labels = [d.label for d in charts["parallel"].figure.data[0].dimensions]
    assert labels == ["optimizer.lr", "val/acc"]
