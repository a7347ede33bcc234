"""Resumable runs: ``checkpoints/last.pt`` and ``hpt train --resume RUN_DIR``.

The proof: a run killed with SIGKILL after its second of four epochs, then resumed, ends with
exactly the metrics of an uninterrupted run (CPU, ``trainer.deterministic=true``).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from helpers import cli_env, run_cli

from hpt.rundir import METRICS, RESULT, read_json, read_jsonl
from hpt.training import resume

ARGS = [
    "data=mnist_tiny",
    "trainer.epochs=4",
    "trainer.device=cpu",
    "trainer.deterministic=true",
    "scheduler=cosine",
    "--quiet",
]
TIMING = ("time/epoch_s", "throughput/samples_per_s")


def _train(run_dir: Path, cwd: Path) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "hpt", "train", *ARGS, f"hydra.run.dir={run_dir}"],
        cwd=cwd,
        env=cli_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _saved_epoch(path: Path) -> int:
    try:
        return int(torch.load(path, map_location="cpu", weights_only=True)["epoch"])
    except Exception:  # not written yet
        return 0


def _metrics(run_dir: Path) -> list[dict]:
    return [
        {k: v for k, v in row.items() if k not in TIMING} for row in read_jsonl(run_dir / METRICS)
    ]


def test_a_run_killed_after_epoch_2_resumes_to_the_same_metrics(tmp_path: Path) -> None:
    full, killed = tmp_path / "full", tmp_path / "killed"
    reference = _train(full, tmp_path)  # the uninterrupted run, alongside the killed one
    victim = _train(killed, tmp_path)
    deadline = time.monotonic() + 600
    while _saved_epoch(killed / resume.LAST) < 2:
        assert victim.poll() is None, victim.communicate()
        assert time.monotonic() < deadline
        time.sleep(0.05)
    victim.send_signal(signal.SIGKILL)
    victim.wait()
    stopped_at = _saved_epoch(killed / resume.LAST)
    assert 2 <= stopped_at < 4
    assert read_json(killed / RESULT)["status"] == "RUNNING"  # killed, not finished
    _out, err = reference.communicate(timeout=600)
    assert reference.returncode == 0, err

    resumed = run_cli(["train", "--resume", str(killed)], tmp_path)
    assert resumed.rc == 0, resumed.stderr
    assert f"run dir: {killed}" in resumed.stdout
    assert _metrics(killed) == _metrics(full)  # every epoch, every metric, bit for bit
    assert [r["epoch"] for r in _metrics(killed)] == [1, 2, 3, 4]
    a, b = read_json(killed / RESULT), read_json(full / RESULT)
    for key in ("status", "objective", "epochs", "test"):
        assert a[key] == b[key], key
    assert {k: v for k, v in a["best"].items() if k not in TIMING} == {
        k: v for k, v in b["best"].items() if k not in TIMING
    }
    best_a = torch.load(killed / "checkpoints/best.pt", weights_only=True)
    best_b = torch.load(full / "checkpoints/best.pt", weights_only=True)
    assert all(torch.equal(best_a[k], best_b[k]) for k in best_b)


def test_last_pt_holds_the_whole_training_state_and_loads_with_weights_only(tmp_path: Path) -> None:
    result = run_cli(
        [
            "train",
            "data=mnist_tiny",
            "trainer.epochs=3",  # last.pt: after epochs 1 and 2, not after the last
            "trainer.device=cpu",
            "scheduler=onecycle",
            "optimizer=adamw",
            "--quiet",
        ],
        tmp_path,
    )
    assert result.rc == 0, result.stderr
    state = torch.load(result.run_dir / resume.LAST, map_location="cpu", weights_only=True)
    assert state["epoch"] == 2
    assert set(state["states"]) == {"model", "optimizer", "scheduler", "scaler"}
    assert state["states"]["optimizer"]["state"]  # Adam's moments are there
    assert [m["epoch"] for m in state["history"]] == [1, 2]
    assert set(state["best_state"]) == set(state["states"]["model"])
    assert {"torch", "cuda", "gen/data"} <= set(state["rng"])


def test_resume_errors_are_one_line_exit_2(tmp_path: Path) -> None:
    missing = run_cli(["train", "--resume", str(tmp_path / "nowhere")], tmp_path)
    assert missing.rc == 2 and "not a run directory" in missing.stderr
    run_dir = tmp_path / "r"
    (run_dir / ".hydra").mkdir(parents=True)
    (run_dir / ".hydra" / "overrides.yaml").write_text(
        json.dumps(["data=mnist_tiny", "trainer.device=cpu"])
    )
    no_last = run_cli(["train", "--resume", str(run_dir)], tmp_path)
    assert no_last.rc == 2, no_last.stderr
    assert "last.pt does not exist" in no_last.stderr
    assert len(no_last.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize(
    "name",
    [
        "step",
        "multistep",
        "exponential",
        "cosine",
        "onecycle",
        "plateau",
        "warmup_cosine",
        "warmup_linear",
    ],
)
def test_every_scheduler_state_round_trips_with_weights_only(
    name: str, compose_cfg, tmp_path: Path
) -> None:
    from hpt.build import build

    cfg = compose_cfg(["data=mnist_tiny", "trainer.device=cpu", f"scheduler={name}"])
    built = build(cfg)
    ckpt = resume.LastCheckpoint(
        tmp_path / "last.pt",
        {"scheduler": built.schedule.scheduler, "optimizer": built.optimizer},
        {},
    )
    ckpt.save(resume.Progress(1, [], None, None, None, 0))
    state = resume.load(tmp_path / "last.pt")  # weights_only=True
    assert ckpt.restore(state).epoch == 1


def test_a_retried_sweep_trial_resumes_from_its_own_last_pt(tmp_path: Path) -> None:
    """kill -9 of a sweep mid-trial, then the same command again: the re-queued copy of the
    dead trial starts from the dead one's last.pt, its earlier epochs carried over."""
    import optuna
    from optuna.trial import TrialState

    from hpt.storage import JOURNAL_NAME, open_storage

    sweep_dir = tmp_path / "sweep"
    args = [
        "hydra/sweeper/sampler=random",
        "hydra.sweeper.sampler.seed=0",
        "optimizer.lr=tag(log, interval(1e-3, 1e-2))",
        "data=mnist_tiny",
        "model.width=32",
        "trainer.epochs=6",
        "trainer.device=cpu",
        "trainer.deterministic=true",
        "hydra.sweeper.n_trials=1",
        "hydra.sweeper.study_name=r",
        f"hydra.sweep.dir={sweep_dir}",
    ]
    sweep = [sys.executable, "-m", "hpt", "sweep", *args]
    first = subprocess.Popen(
        sweep,
        cwd=tmp_path,
        env=cli_env(),
        start_new_session=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    last = sweep_dir / "trial_0000" / resume.LAST
    deadline = time.monotonic() + 600
    while _saved_epoch(last) < 2:
        assert first.poll() is None and time.monotonic() < deadline
        time.sleep(0.05)
    os.killpg(first.pid, signal.SIGKILL)  # the sweep and its workers, as kill -9 of the job
    first.wait()
    saved = _saved_epoch(last)
    assert 2 <= saved < 6

    again = subprocess.run(
        sweep, cwd=tmp_path, env=cli_env(), capture_output=True, text=True, timeout=600
    )
    assert again.returncode == 0, again.stderr[-3000:]
    study = optuna.load_study(study_name="r", storage=open_storage(str(sweep_dir / JOURNAL_NAME)))
    (copy,) = [t for t in study.get_trials() if t.user_attrs.get("retry_of") == 0]
    assert copy.state == TrialState.COMPLETE
    old = read_jsonl(sweep_dir / "trial_0000" / METRICS)
    new = read_jsonl(sweep_dir / copy.user_attrs["dir"] / METRICS)
    assert [r["epoch"] for r in new] == [1, 2, 3, 4, 5, 6]
    assert new[:saved] == old[:saved]  # carried over from the dead trial, not trained again
    assert sorted(copy.intermediate_values) == [1, 2, 3, 4, 5, 6]  # re-reported to the pruner
