"""lightning-hydra-template itself, swept by hpt with only the sweeper line changed.

``tests/apps/lht_upstream/`` holds ashleve/lightning-hydra-template's ``configs/`` and ``src/``
at commit bddbc24 (MIT licence), unchanged except ``override /hydra/sweeper: optuna`` ->
``hpt`` in ``configs/hparams_search/mnist_optuna.yaml``, which still pins the old plugin's
``_target_``. It trains its own Lightning MNIST module on hpt's bundled MNIST subset written
as MNIST's idx files (no download). Command-line overrides only shrink the run (epochs, split
sizes, trials) and add hpt's pruning callback by ``_target_``: no user code.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import optuna
import pytest
from helpers.mnist_idx import write_mnist_idx

from hpt.storage import open_storage

pytest.importorskip("lightning")
pytest.importorskip("rootutils")
pytest.importorskip("torchmetrics")
pytest.importorskip("hydra_plugins.hydra_colorlog")

REPO = Path(__file__).resolve().parents[2]
LHT = REPO / "tests" / "apps" / "lht_upstream"
PRUNE = [
    "+callbacks.prune._target_=hpt.integrations.lightning.PruningCallback",
    "+callbacks.prune.monitor=val/acc",
]


def command(tmp_path: Path, *args: str) -> list[str]:
    return [
        sys.executable,
        str(LHT / "src" / "train.py"),
        "-m",
        "hparams_search=mnist_optuna",
        f"hydra.sweep.dir={tmp_path / 'sweep'}",
        f"paths.data_dir={tmp_path / 'data'}",
        "data.train_val_test_split=[1500,500,500]",
        "data.num_workers=0",
        "callbacks=none",
        "test=false",
        "extras.print_config=false",
        *PRUNE,
        *args,
    ]


def run(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.run(
        command(tmp_path, *args), cwd=tmp_path, env=env, capture_output=True, text=True, timeout=400
    )


def load(tmp_path: Path) -> optuna.Study:
    storage = open_storage(str(tmp_path / "sweep" / "study.journal"))
    return optuna.load_study(study_name=None, storage=storage)


@pytest.fixture
def data(tmp_path: Path) -> Path:
    return write_mnist_idx(tmp_path / "data")


def test_lht_prunes_with_the_shipped_callback_resumes_and_summarizes(
    tmp_path: Path, data: Path
) -> None:
    # Every trial below val/acc 0.99 after its first epoch is pruned by Optuna's
    # ThresholdPruner: the callback reported, the pruner answered, Lightning stopped.
    pruned = run(
        tmp_path,
        "trainer.max_epochs=2",
        "hydra.sweeper.n_trials=2",
        "hydra.sweeper.pruner._target_=optuna.pruners.ThresholdPruner",
        "+hydra.sweeper.pruner.lower=0.99",
    )
    assert pruned.returncode == 0, pruned.stderr[-3000:]
    trials = load(tmp_path).trials
    assert [t.state.name for t in trials] == ["PRUNED", "PRUNED"]
    assert all(list(t.intermediate_values) == [0] for t in trials)  # stopped after epoch 0
    # The same command with a bigger budget resumes the study: exactly one more trial.
    more = run(tmp_path, "trainer.max_epochs=2", "hydra.sweeper.n_trials=3")
    assert more.returncode == 0, more.stderr[-3000:]
    study = load(tmp_path)
    assert [t.state.name for t in study.trials] == ["PRUNED", "PRUNED", "COMPLETE"]
    assert sorted(study.trials[2].intermediate_values) == [0, 1]
    results = (tmp_path / "sweep" / "optimization_results.yaml").read_text()
    assert "name: optuna" in results and f"best_value: {study.best_value}" in results
    records = [
        json.loads(p.read_text())  # the template's own hydra.sweep.subdir: ${hydra.job.num}
        for p in sorted((tmp_path / "sweep").glob("*/result.json"))
    ]
    assert [r["status"] for r in records] == ["PRUNED", "PRUNED", "COMPLETE"]
    summary = subprocess.run(
        [sys.executable, "-m", "hpt", "summarize", str(tmp_path / "sweep")],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        timeout=120,
    )
    assert summary.returncode == 0, summary.stderr
    assert "3 runs" in summary.stdout and "COMPLETE 1" in summary.stdout


def test_lht_two_workers_killed_mid_trial_exit_143_and_resume_to_the_budget(
    tmp_path: Path, data: Path
) -> None:
    args = ("trainer.max_epochs=3", "hydra.sweeper.n_trials=2", "hydra.sweeper.n_jobs=2")
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.Popen(
        command(tmp_path, *args),
        cwd=tmp_path,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.time() + 240
        while time.time() < deadline and proc.poll() is None:  # inside Lightning's fit loop
            journal = tmp_path / "sweep" / "study.journal"
            if journal.exists() and any(t.intermediate_values for t in load(tmp_path).trials):
                break
            time.sleep(0.5)
        assert proc.poll() is None, "the sweep ended before a trial reported an epoch"
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
    # Lightning turns the interrupt into sys.exit(1); the sweep still exits as terminated.
    assert proc.returncode == 143, err[-3000:]
    trials = load(tmp_path).trials
    assert "RUNNING" not in [t.state.name for t in trials]
    interrupted = [t for t in trials if t.user_attrs.get("error_kind") == "interrupted"]
    assert interrupted
    for t in interrupted:  # its directory says so too
        record = json.loads((tmp_path / "sweep" / t.user_attrs["dir"] / "result.json").read_text())
        assert record["status"] == "FAIL" and record["error_kind"] == "interrupted"
    # The same command again finishes the budget: two counted trials, both complete.
    again = run(tmp_path, *args)
    assert again.returncode == 0, again.stderr[-3000:]
    study = load(tmp_path)
    counted = [t for t in study.trials if not t.system_attrs.get("hpt:retried")]
    assert [t.state.name for t in counted] == ["COMPLETE", "COMPLETE"]
