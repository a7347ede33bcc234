"""``task._target_`` chooses the kind of run; ``hpt.train.run`` is the one flow for every kind.

A user's own task class, named on the command line, runs through the same flow as hpt's
(run directory, result.json, checkpoint); a typo ends with one line; the flow itself names no kind.
"""

from __future__ import annotations

import ast
import json
from pathlib import Path

import pytest
from helpers import REPO, compose_config

from hpt.errors import UserError
from hpt.generative.run import Gan, Vae
from hpt.supervised import Supervised
from hpt.task import task_of
from hpt.train import run

USER_TASK = '''
from hpt.supervised import Supervised


class Counted(Supervised):
    """hpt's supervised run, plus one fact of its own in result.json."""

    def info(self, cfg, built):
        return {"mine": {"train_rows": len(built.data.train)}, **super().info(cfg, built)}
'''


def test_each_task_config_names_its_class() -> None:
    assert type(task_of(compose_config([]))) is Supervised
    assert type(task_of(compose_config(["task=gan"]))) is Gan
    assert type(task_of(compose_config(["task=vae"]))) is Vae


def test_a_users_task_class_runs_through_the_same_flow(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "mytask.py").write_text(USER_TASK)
    monkeypatch.syspath_prepend(str(tmp_path))
    cfg = compose_config(
        ["data=mnist_tiny", "trainer.epochs=1", "model.width=16", "task._target_=mytask.Counted"]
    )
    outcome = run(cfg, tmp_path / "run")
    result = json.loads((tmp_path / "run" / "result.json").read_text())
    assert outcome.status == result["status"] == "COMPLETE"
    assert result["mine"] == {"train_rows": 1800}  # the user's fact, beside hpt's own
    assert result["test"]["test/acc"] > 0.3 and (tmp_path / "run/checkpoints/best.pt").is_file()


def test_a_task_target_that_does_not_import_is_one_readable_error() -> None:
    with pytest.raises(UserError, match=r"^task._target_=hpt.supervised.Supervized cannot be"):
        task_of(compose_config(["task._target_=hpt.supervised.Supervized"]))
    with pytest.raises(UserError, match="is not a class"):
        task_of(compose_config(["task._target_=hpt.supervised.plan"]))


def test_the_run_flow_names_no_kind_of_run() -> None:
    """hpt.train imports no task: supervised, GAN and VAE reach it only through task._target_."""
    tree = ast.parse((REPO / "hpt" / "train.py").read_text())
    imported = {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module} | {
        a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names
    }
    assert "hpt.task" in imported
    assert not {m for m in imported if m.startswith(("hpt.supervised", "hpt.generative"))}
