"""``hpt summarize`` end to end: terminal report, options, exports, --diff, errors, imports."""

from __future__ import annotations

import io
import json
import re
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from helpers.summarize_fixtures import synthetic_sweep, write_run, write_sweep
from rich.console import Console

from hpt.summarize.cli import main
from hpt.summarize.collect import collect_runs
from hpt.summarize.export import normalize
from hpt.summarize.query import rank_runs
from hpt.summarize.render import render_rich
from hpt.summarize.report import ReportOptions, build_report

ROOT = Path(__file__).resolve().parents[2]
ANSI = re.compile(r"\x1b\[")


@pytest.fixture
def sweep(tmp_path: Path) -> Path:
    """A small single-objective sweep with every state, a seed repeat and two failures."""
    s = write_sweep(
        tmp_path / "sweeps" / "tpe",
        search_space={"optimizer.lr": "tag(log, interval(1e-4, 1e-1))", "optimizer": "choice"},
    )
    specs = [
        # name, status, value, optimizer, lr, seed, error, kind
        ("trial_0000", "COMPLETE", 0.975, "adamw", 0.001, 0, None, None),
        ("trial_0001", "COMPLETE", 0.981, "adamw", 0.002, 0, None, None),
        ("trial_0002", "COMPLETE", 0.979, "adamw", 0.002, 1, None, None),
        ("trial_0003", "COMPLETE", 0.930, "sgd", 0.05, 0, None, None),
        ("trial_0004", "PRUNED", 0.700, "sgd", 0.09, 0, None, None),
        ("trial_0005", "FAIL", None, "sgd", 0.1, 0, "loss is NaN", "nan"),
        ("trial_0006", "FAIL", None, "adamw", 0.08, 0, "loss is NaN", "nan"),
        ("trial_0007", "RUNNING", None, "adamw", 0.003, 0, None, None),
    ]
    targets = {"adamw": "torch.optim.AdamW", "sgd": "torch.optim.SGD"}
    for i, (name, status, value, opt, lr, seed, error, kind) in enumerate(specs):
        write_run(
            s / name,
            status=status,
            value=value,
            trial=i,
            study_name="tpe",
            error=error,
            error_kind=kind,
            test_value=None if value is None else value - 0.002,
            params={
                "optimizer.name": opt,
                "optimizer._target_": targets[opt],
                "optimizer.lr": lr,
                "trainer.seed": seed,
            },
            overrides=[f"optimizer={opt}", f"optimizer.lr={lr}"],
        )
    return s


def run_cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main([*argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_terminal_report_content(sweep: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run_cli(capsys, str(sweep), "--width", "100", "--no-color")
    assert code == 0, err
    assert not ANSI.search(out)
    assert "8 runs" in out
    assert "COMPLETE 4  PRUNED 1  FAIL 2  RUNNING 1" in out
    assert "objective: val/acc (maximize)" in out
    # Ranked: the best COMPLETE run first, then the rest in order.
    ranked = re.findall(r"^\s*(\d+)\s+(trial_\d{4})", out, re.M)
    assert [name for _, name in ranked[:4]] == [
        "trial_0001",
        "trial_0002",
        "trial_0000",
        "trial_0003",
    ]
    assert "val/acc ↑" in out and "test/acc" in out and "optimizer.lr" in out
    # Seeds: trial_0001 and trial_0002 share their config apart from trainer.seed.
    assert "Repeated seeds" in out
    assert re.search(r"optimizer\.lr=0\.002\s+2\s+0\.98 ± 0\.001414", out)
    # The best run's diff and overrides.
    assert "Best run trial_0001 (val/acc = 0.981)" in out
    assert "overrides: optimizer=adamw optimizer.lr=0.002" in out
    assert "Hyperparameter importance" in out and "method: table-based" in out
    assert re.search(r"nan\s+2\s+loss is NaN\s+trial_0005, trial_0006", out)
    # It closes with the commands that use the best run, each on one line to copy as it is.
    best = sweep / "trial_0001"
    use = out[out.index("Use the best model") :].splitlines()
    assert use[1] == "best: trial_0001 (val/acc = 0.981)"
    assert use[-3:] == [
        f"hpt eval {best}",
        f"hpt predict {best} INPUT -o predictions.csv",
        f"hpt export {best} -o model.pt",
    ]
    assert all(len(line) <= 100 for line in out.splitlines() if not line.startswith("hpt "))


def test_report_renders_into_a_fixed_width_console(sweep: Path) -> None:
    collection = collect_runs([sweep])
    sections = build_report(collection, rank_runs(collection.frame), ReportOptions(top=2))
    buffer = io.StringIO()
    render_rich(sections, Console(file=buffer, width=100, color_system=None))
    text = buffer.getvalue()
    assert "Top 2 of 8 runs, ranked by val/acc" in text
    assert "trial_0001" in text and "trial_0003" not in text.split("Repeated seeds")[0]


def test_narrow_terminal_hides_param_columns_but_keeps_the_ranking(
    sweep: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run_cli(capsys, str(sweep), "--width", "60", "--no-color")
    assert code == 0
    assert "column(s) hidden to fit 60 chars" in out
    top = out.split("ranked by val/acc")[1].split("\n\n")[0]
    assert "trial_0001" in top and "0.981" in top
    # (the closing commands are never wrapped: each pastes as one line)
    assert all(len(line) <= 60 for line in out.splitlines() if not line.startswith("hpt "))


def test_top_sort_columns_and_all_params(sweep: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run_cli(
        capsys,
        str(sweep),
        "--top",
        "3",
        "--sort",
        "lr",
        "--columns",
        "lr,status,val/acc",
        "--width",
        "100",
    )
    assert code == 0
    table = out.split("sorted by lr")[1].split("\n\n")[0]
    rows = re.findall(r"^\s*\d+\s+(trial_\d{4})\s+(\S+)\s+(\S+)\s+(\S+)", table, re.M)
    assert rows == [
        ("trial_0000", "0.001", "COMPLETE", "0.975"),
        ("trial_0001", "0.002", "COMPLETE", "0.981"),
        ("trial_0002", "0.002", "COMPLETE", "0.979"),
    ]
    _, out, _ = run_cli(capsys, str(sweep), "--all-params", "--width", "400")
    assert "trainer.batch_size" in out.split("Best run")[0]
    _, out, _ = run_cli(capsys, str(sweep), "--width", "400")
    assert "trainer.batch_size" not in out.split("Best run")[0]  # constant: hidden by default


def test_where_and_group_by(sweep: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run_cli(
        capsys,
        str(sweep),
        "--where",
        "optimizer=adamw",
        "--where",
        "val/acc>0.976",
        "--width",
        "120",
    )
    assert code == 0
    assert "2 runs of 8" in out
    assert "where: optimizer=adamw and val/acc>0.976" in out
    assert set(re.findall(r"trial_\d{4}", out.split("Best run")[0])) == {"trial_0001", "trial_0002"}

    code, out, _ = run_cli(capsys, str(sweep), "--group-by", "optimizer", "--width", "120")
    assert code == 0
    section = out.split("val/acc by optimizer.name")[1]
    assert re.search(r"adamw\s+3\s+0\.9783\s+0\.003055\s+0\.981", section)
    assert re.search(r"sgd\s+1\s+0\.93\s+-\s+0\.93", section)


def test_no_match_and_no_runs_exit_1(
    sweep: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run_cli(capsys, str(sweep), "--where", "val/acc>2")
    assert code == 1 and "no run matches val/acc>2" in err
    empty = tmp_path / "empty"
    empty.mkdir()
    code, _, err = run_cli(capsys, str(empty))
    assert code == 1 and "no run directories found" in err


def _read_back(fmt: str, path: Path) -> pd.DataFrame:
    if fmt == "csv":
        # Missing cells are empty; the error_kind "nan" must stay a string.
        return pd.read_csv(path, keep_default_na=False, na_values=[""])
    if fmt == "json":
        return pd.DataFrame(json.loads(path.read_text()))
    return pd.read_parquet(path)


@pytest.mark.parametrize("fmt", ["csv", "json", "parquet"])
def test_exports_round_trip_one_row_per_run(
    sweep: Path, tmp_path: Path, fmt: str, capsys: pytest.CaptureFixture[str]
) -> None:
    out_file = tmp_path / "out" / f"runs.{fmt}"
    out_file.parent.mkdir()  # -o makes no folders (test_arguments.py)
    code, _, err = run_cli(capsys, str(sweep), "--format", fmt, "--output", str(out_file))
    assert code == 0, err
    assert f"wrote {out_file}" in err
    assert not list(out_file.parent.glob(".*tmp"))  # the atomic write left no temp file
    back = _read_back(fmt, out_file)
    expected = normalize(rank_runs(collect_runs([sweep]).frame))
    assert len(back) == 8 and back["run"].is_unique
    assert list(back.columns) == list(expected.columns)
    pd.testing.assert_frame_equal(
        back.astype(object).where(back.notna(), None),
        expected.astype(object).where(expected.notna(), None),
        check_dtype=False,
    )


def test_export_format_from_suffix_top_and_columns(
    sweep: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "best.csv"
    assert main([str(sweep), "-o", str(target), "--top", "2", "--columns", "lr,val/acc"]) == 0
    back = pd.read_csv(target)
    assert list(back.columns) == ["run", "params.optimizer.lr", "value"]
    assert back["value"].tolist() == [0.981, 0.979]
    code, out, _ = run_cli(capsys, str(sweep), "--format", "json", "--where", "status=FAIL")
    assert code == 0
    records = json.loads(out)
    assert sorted(r["name"] for r in records) == ["trial_0005", "trial_0006"]
    assert all(r["value"] is None for r in records)


def test_markdown_and_table_to_file(
    sweep: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run_cli(capsys, str(sweep), "--format", "markdown")
    assert code == 0
    assert "### Top 8 of 8 runs" not in out and "### 8 runs, ranked by val/acc" in out
    assert "| # | run | status | val/acc ↑ |" in out
    assert re.search(r"^\| 1 \| trial_0001 \| COMPLETE \| 0\.981 \|", out, re.M)
    report = tmp_path / "report.txt"
    assert main([str(sweep), "--output", str(report)]) == 0
    text = report.read_text()
    assert "Top" not in text.splitlines()[0] and "trial_0001" in text and not ANSI.search(text)


def test_multi_objective_report_lists_the_pareto_set(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    sweep = write_sweep(
        tmp_path / "mo",
        directions=["maximize", "minimize"],
        objectives=["val/acc", "model/n_params"],
    )
    points = [(0.90, 1000.0), (0.95, 5000.0), (0.94, 6000.0), (0.97, 20000.0)]
    for i, (acc, size) in enumerate(points):
        write_run(
            sweep / f"trial_{i:04d}",
            trial=i,
            params={"model.hidden": 2 ** (i + 5)},
            objectives=[("val/acc", acc, "maximize"), ("model/n_params", size, "minimize")],
        )
    code, out, _ = run_cli(capsys, str(sweep), "--width", "100")
    assert code == 0
    assert "objectives: val/acc (maximize), model/n_params (minimize)" in out
    pareto = out.split("Pareto set (3 non-dominated COMPLETE runs)")[1].split("\n\n")[0]
    assert re.findall(r"trial_\d{4}", pareto) == ["trial_0003", "trial_0001", "trial_0000"]


def test_several_sweeps_get_a_per_sweep_table(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    synthetic_sweep(tmp_path / "outputs" / "a", 6, seed=1, study_name="alpha")
    synthetic_sweep(tmp_path / "outputs" / "b", 4, seed=2, study_name="beta")
    code, out, _ = run_cli(capsys, str(tmp_path / "outputs"), "--width", "120")
    assert code == 0
    assert "10 runs in 2 sweep(s)" in out
    # Labelled by folder, not by study name (every search=tpe sweep's study is "tpe").
    assert re.search(r"^a\s+6\s", out, re.M) and re.search(r"^b\s+4\s", out, re.M)
    assert re.search(r"best val/acc ↑", out)  # the best column names its metric
    assert "ranked on its own" not in out  # same data, same objective: one ranking


def test_sweeps_on_other_data_or_objectives_are_ranked_per_sweep(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    sweeps = tmp_path / "outputs" / "sweeps"
    for folder, metric, direction, values, data in (
        ("tpe-mnist-1a2b3c4d", "val/acc", "maximize", (0.90, 0.97, 0.95), "mnist"),
        ("tpe-house-5e6f7a8b", "val/loss", "minimize", (0.30, 0.20, 0.90), "table"),
    ):
        write_sweep(sweeps / folder, study_name="tpe", directions=[direction], objectives=[metric])
        for i, value in enumerate(values):
            write_run(
                sweeps / folder / f"trial_{i:04d}",
                value=value,
                objective=metric,
                direction=direction,
                trial=i,
                study_name="tpe",
                params={"optimizer.lr": 0.001 * (i + 1), "data.name": data},
            )
    code, out, _ = run_cli(capsys, str(sweeps), "--width", "160", "--no-color")
    assert code == 0
    assert "each is ranked on its own" in out
    head = out.split("\n\n")[0]
    assert re.search(r"best val/acc ↑\s+best val/loss ↓", head)
    assert re.search(r"^tpe-house-5e6f7a8b\s+3\s.*-\s+0\.2$", head, re.M)
    assert re.search(r"^tpe-mnist-1a2b3c4d\s+3\s.*0\.97\s+-$", head, re.M)
    house = out[out.index("tpe-house-5e6f7a8b: 3 runs, ranked by val/loss") :]
    assert "val/loss ↓" in house.splitlines()[1]
    assert re.findall(r"tpe-house-5e6f7a8b/trial_(\d{4})", house)[:3] == ["0001", "0000", "0002"]
    mnist = out[out.index("tpe-mnist-1a2b3c4d: 3 runs, ranked by val/acc") :]
    assert "val/acc ↑" in mnist.splitlines()[1]
    assert re.findall(r"tpe-mnist-1a2b3c4d/trial_(\d{4})", mnist)[:3] == ["0001", "0002", "0000"]
    assert "Hyperparameter importance" not in out  # one ranking of two problems: none


def test_corrupt_runs_warn_one_line_each_and_still_report(
    sweep: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (sweep / "trial_0003" / "result.json").write_text('{"status": "COMPL')
    (sweep / "trial_0008").mkdir()
    (sweep / "trial_0008" / "manifest.json").write_text("garbage")
    code, out, err = run_cli(capsys, str(sweep), "--width", "100")
    assert code == 0
    warnings = err.strip().splitlines()
    assert len(warnings) == 2 and all(w.startswith("warning: ") for w in warnings)
    assert "CORRUPT 1" in out and "UNKNOWN 1" in out
    assert "Traceback" not in err


def test_diff_two_runs(sweep: Path, capsys: pytest.CaptureFixture[str]) -> None:
    a, b = sweep / "trial_0000", sweep / "trial_0003"
    code, out, _ = run_cli(capsys, "--diff", str(a), str(b), "--width", "120")
    assert code == 0
    assert f"A: {a} (COMPLETE)" in out and f"B: {b} (COMPLETE)" in out
    assert re.search(r"objective val/acc\s+0\.975\s+0\.93\s+-0\.045", out)
    assert "Config (3 of" in out
    assert re.search(r"optimizer\.name\s+adamw\s+sgd", out)
    assert re.search(r"optimizer\._target_\s+torch\.optim\.AdamW\s+torch\.optim\.SGD", out)
    assert "trainer.batch_size" not in out  # identical params are not listed
    assert "same git commit" in out

    code, out, _ = run_cli(capsys, "--diff", str(a), str(b), "--format", "json")
    data = json.loads(out)
    assert set(data["params"]) == {"optimizer.name", "optimizer._target_", "optimizer.lr"}
    assert data["params"]["optimizer.lr"] == {"a": 0.001, "b": 0.05}
    assert data["metrics"]["objective val/acc"] == {"a": 0.975, "b": 0.93}


def test_diff_reports_environment_differences(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    a = write_run(tmp_path / "a", value=0.9)
    b = write_run(
        tmp_path / "b",
        value=0.9,
        manifest={"device": "cuda:0", "git": {"commit": "def5678", "dirty": True}},
    )
    code, out, _ = run_cli(capsys, "--diff", str(a), str(b), "--all-params", "--width", "120")
    assert code == 0
    assert "identical configurations" in out
    assert re.search(r"device\s+cpu\s+cuda:0", out) and re.search(
        r"git\.commit\s+abc1234\s+def5678", out
    )
    assert "start_time" not in out


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["/definitely/not/here"], "no such directory: /definitely/not/here"),
        ([], "give at least one PATH"),
        (["{sweep}", "--top", "-3"], "must be >= 0"),
        (["{sweep}", "--format", "xml"], "invalid choice: 'xml'"),
        (["{sweep}", "--bogus"], "unrecognized arguments: --bogus"),
        (["{sweep}", "--where", "val/acc"], "expected KEY OP VALUE"),
        (["{sweep}", "--where", "lrr=1"], "unknown key 'lrr'"),
        (["{sweep}", "--sort", "nope"], "unknown key 'nope'"),
        (["{sweep}", "--format", "parquet"], "binary: give --output FILE"),
        (["--diff", "{sweep}/trial_0000", "{sweep}"], "not a run directory"),
        (["--diff", "{sweep}/trial_0000"], "expected 2 arguments"),
        (["{sweep}/trial_0000/result.json"], "not a directory"),
    ],
)
def test_bad_arguments_exit_2_with_one_line(
    sweep: Path, capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    code, out, err = run_cli(capsys, *(a.format(sweep=sweep) for a in argv))
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("hpt summarize: error: ") and message in lines[0]
    assert out == ""


def test_help_exits_0(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run_cli(capsys, "--help")
    assert code == 0 and "usage: hpt summarize" in out and "--where EXPR" in out


def test_summarize_never_imports_torch_or_optuna_on_the_table_path(sweep: Path) -> None:
    code = (
        "import sys, io, contextlib\n"
        "from hpt.summarize.cli import main\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        f"    rc = main([{str(sweep)!r}, '--format', 'table'])\n"
        "assert rc == 0, rc\n"
        "print(sorted(m for m in ('torch', 'optuna', 'matplotlib') if m in sys.modules))\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    # No storage file in this sweep, so optuna is not needed either.
    assert proc.stdout.strip() == "[]"


def test_module_entry_point_runs(sweep: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "hpt.summarize", str(sweep), "--format", "csv", "--top", "1"],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stderr
    assert "trial_0001" in proc.stdout and len(proc.stdout.strip().splitlines()) == 2
