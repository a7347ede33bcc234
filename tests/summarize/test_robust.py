"""``hpt summarize`` on damaged run directories lists every run with its state, and a bad
destination (``-o`` a folder, ``--plots`` a file) is one line and exit code 2.

The runs are copies of one real ``hpt train`` run on the bundled MNIST subset, each damaged
in one way: bytes that are not UTF-8 in ``metrics.jsonl``, ``.hydra/overrides.yaml`` or
``result.json``, a folder where a file belongs, JSON of the wrong types.
"""

from __future__ import annotations

import contextlib
import io
import json
import shutil
from pathlib import Path

import pytest
from helpers.in_process import hpt

from hpt.rundir import read_json, read_jsonl
from hpt.summarize import cli as summarize_cli

NOT_UTF8 = b"\xff\xfe\xfa not utf-8 \xc3\x28\n"


@pytest.fixture(scope="module")
def real_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    base = tmp_path_factory.mktemp("real_run")
    run = base / "run"
    ran = hpt(
        "train",
        "data=mnist_tiny",
        "data.subset=200",
        "trainer.epochs=2",
        "trainer.device=cpu",
        "model.width=16",
        "trainer.quiet=true",
        f"hydra.run.dir={run}",
        cwd=base,
    )
    assert ran.rc == 0, ran.stderr
    return run


def _damage(run: Path, how: str) -> None:
    metrics, overrides, result = (
        run / "metrics.jsonl",
        run / ".hydra/overrides.yaml",
        run / "result.json",
    )
    if how == "metrics_not_utf8":  # one bad line between two good ones
        lines = metrics.read_bytes().splitlines(keepends=True)
        metrics.write_bytes(lines[0] + NOT_UTF8 + b"".join(lines[1:]))
    elif how == "overrides_not_utf8":
        overrides.write_bytes(b"- data=mnist_tiny\n- " + NOT_UTF8)
    elif how == "result_not_utf8":
        result.write_bytes(NOT_UTF8)
    elif how == "result_is_a_folder":
        result.unlink()
        result.mkdir()
    elif how == "metrics_is_a_folder":
        metrics.unlink()
        metrics.mkdir()
    elif how == "result_wrong_types":
        result.write_text(
            json.dumps(
                {
                    "status": "COMPLETE",
                    "objective": [1, 2],
                    "objectives": "x",
                    "epochs": "two",
                    "best": 5,
                    "final": ["a"],
                    "model": "big",
                    "trial": "3",
                    "params": [1],
                }
            )
        )
    elif how == "metrics_wrong_types":
        metrics.write_text(
            '{"epoch": "one", "val/acc": [1], "train/loss": {"a": 1}}\n[1, 2]\n"text"\n'
        )
    else:
        raise AssertionError(how)


DAMAGE = {  # how -> the state summarize must list the run with
    "metrics_not_utf8": "COMPLETE",
    "overrides_not_utf8": "COMPLETE",
    "result_not_utf8": "CORRUPT",
    "result_is_a_folder": "UNKNOWN",
    "metrics_is_a_folder": "COMPLETE",
    "result_wrong_types": "COMPLETE",
    "metrics_wrong_types": "COMPLETE",
}


def summarize(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        rc = summarize_cli.main(list(argv))
    return rc, out.getvalue(), err.getvalue()


@pytest.fixture(scope="module")
def damaged(real_run: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("damaged")
    for how in DAMAGE:
        shutil.copytree(real_run, root / how)
        _damage(root / how, how)
    return root


def test_readers_skip_bytes_that_are_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "m.jsonl"
    path.write_bytes(b'{"epoch": 1}\n' + NOT_UTF8 + b'{"epoch": 2}\n')
    assert read_jsonl(path) == [{"epoch": 1}, {"epoch": 2}]
    path.write_bytes(NOT_UTF8)
    assert read_json(path) is None


def test_every_damaged_run_is_listed_with_its_state(damaged: Path) -> None:
    rc, out, err = summarize(str(damaged), "--format", "json", "--no-study")
    assert rc == 0, err
    assert "Traceback" not in err
    rows = json.loads(out)
    states = {Path(r["run"]).name: r["status"] for r in rows}
    assert states == DAMAGE


@pytest.mark.parametrize(
    "extra", [[], ["--all-params"], ["--format", "markdown"], ["--group-by", "optimizer.lr"]]
)
def test_the_report_survives_damaged_runs(damaged: Path, extra: list[str]) -> None:
    rc, out, err = summarize(str(damaged), "--no-color", "--no-study", *extra)
    assert rc == 0, err
    assert "Traceback" not in err and "metrics_not_utf8" in out


def test_plots_survive_damaged_runs(damaged: Path, tmp_path: Path) -> None:
    rc, _, err = summarize(
        str(damaged), "--no-color", "--no-study", "--plots", str(tmp_path / "plots")
    )
    assert rc == 0, err
    assert sorted(p.suffix for p in (tmp_path / "plots").iterdir())[:1] == [".png"]


def test_diff_of_damaged_runs_is_not_a_traceback(damaged: Path) -> None:
    rc, _, err = summarize(
        "--diff",
        str(damaged / "overrides_not_utf8"),
        str(damaged / "metrics_not_utf8"),
        "--no-color",
    )
    assert rc == 0, err
    assert "Traceback" not in err


def test_output_that_is_a_directory_is_one_line_and_exit_2(real_run: Path, tmp_path: Path) -> None:
    rc, _, err = summarize(str(real_run), "-o", str(tmp_path), "--format", "csv")
    assert rc == 2
    assert err.strip().splitlines() == [
        f"hpt summarize: error: --output {tmp_path} is a directory: give a file name"
    ]


def test_plots_into_an_existing_file_is_one_line_and_exit_2(real_run: Path, tmp_path: Path) -> None:
    target = tmp_path / "plots.png"
    target.write_text("x")
    rc, _, err = summarize(str(real_run), "--plots", str(target))
    assert rc == 2
    assert err.strip().splitlines() == [
        f"hpt summarize: error: --plots {target} is a file: give a directory"
    ]


def test_output_under_a_file_is_one_line_and_exit_2(real_run: Path, tmp_path: Path) -> None:
    (tmp_path / "f").write_text("x")
    rc, _, err = summarize(str(real_run), "-o", str(tmp_path / "f" / "runs.csv"))
    assert rc == 2
    (line,) = err.strip().splitlines()
    assert line.startswith(
        f"hpt summarize: error: cannot write --output {tmp_path / 'f' / 'runs.csv'}"
    )
