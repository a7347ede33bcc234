"""No new run appends to an existing run directory.

``hpt train -m`` never overwrites or appends to an earlier multirun's job directories: each
invocation gets a fresh ``outputs/multiruns/<date>/<time>`` (as Hydra's
``multirun/<date>/<time>``); an explicit ``hydra.sweep.dir`` that already holds runs, or a
``hydra.run.dir`` that is a run, is refused with exit 2 before anything runs (``--resume`` is
the one way to continue a run in its directory).
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from helpers import run_in_process as hpt

from hpt.rundir import METRICS, RESULT, read_json, read_jsonl

JOBS = [
    "data=mnist_tiny",
    "data.subset=200",
    "trainer.epochs=1",
    "trainer.device=cpu",
    "trainer.quiet=true",
    "model.width=8,16",
]


def test_two_multiruns_in_a_row_keep_both(tmp_path: Path) -> None:
    first = hpt("train", "-m", *JOBS, cwd=tmp_path)
    second = hpt("train", "-m", *JOBS, "data.subset=300", cwd=tmp_path)
    assert first[0] == 0 and second[0] == 0, first[2] + second[2]
    dirs = sorted(p.parent for p in tmp_path.glob("outputs/multiruns/*/*/trial_0"))
    assert len(dirs) == 2  # one fresh directory per invocation
    for sweep, subset in zip(dirs, (200, 300)):
        for job in ("trial_0", "trial_1"):
            assert [r["epoch"] for r in read_jsonl(sweep / job / METRICS)] == [1]  # not appended
            assert read_json(sweep / job / RESULT)["params"]["data.subset"] == subset
        assert f"run dir: {sweep / 'trial_1'}" in (first if subset == 200 else second)[1]


def test_a_multirun_into_a_directory_holding_runs_is_refused_and_it_untouched(
    tmp_path: Path,
) -> None:
    sweep = tmp_path / "sweep"
    rc, _, err = hpt("train", "-m", *JOBS, f"hydra.sweep.dir={sweep}", cwd=tmp_path)
    assert rc == 0, err
    before = {
        p: hashlib.sha256(p.read_bytes()).hexdigest() for p in sweep.rglob("*") if p.is_file()
    }
    rc, out, err = hpt("train", "-m", *JOBS, f"hydra.sweep.dir={sweep}", cwd=tmp_path)
    assert rc == 2 and out == "", err
    (line,) = err.strip().splitlines()
    assert f"hydra.sweep.dir={sweep} already holds runs (trial_0, trial_1)" in line
    after = {p: hashlib.sha256(p.read_bytes()).hexdigest() for p in sweep.rglob("*") if p.is_file()}
    assert after == before


def test_a_run_into_an_earlier_runs_directory_is_refused_and_it_untouched(tmp_path: Path) -> None:
    run = tmp_path / "run"
    args = [
        "train",
        "data=mnist_tiny",
        "data.subset=200",
        "trainer.epochs=1",
        "trainer.device=cpu",
        "trainer.quiet=true",
        f"hydra.run.dir={run}",
    ]
    rc, _, err = hpt(*args, cwd=tmp_path)
    assert rc == 0, err
    before = {p: hashlib.sha256(p.read_bytes()).hexdigest() for p in run.rglob("*") if p.is_file()}
    rc, _, err = hpt(*args, cwd=tmp_path)
    assert rc == 2, err
    (line,) = err.strip().splitlines()
    assert f"hydra.run.dir={run} already holds a run" in line and "--resume" in line
    after = {p: hashlib.sha256(p.read_bytes()).hexdigest() for p in run.rglob("*") if p.is_file()}
    assert after == before
