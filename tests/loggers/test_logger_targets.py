"""Loggers are chosen by ``_target_``: hpt's own name theirs in ``conf/logger/*.yaml``, and a
user's own tracker class needs nothing else (no registry to add it to)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from helpers import compose_config, sk_data

from hpt.errors import UserError
from hpt.loggers import RunInfo, open_loggers, selection_of

PARAMS = {"optimizer.lr": 0.01}

# A tracker of a user's own, in a module of theirs: it takes the RunInfo and its options.
TRACKER = """
import json


class JsonLinesTracker:
    def __init__(self, info, prefix="m"):
        self.path = info.run_dir / "tracked.jsonl"
        self.prefix = prefix
        self.path.write_text(json.dumps({"params": info.params}) + "\\n")

    def log_metrics(self, metrics, step):
        with open(self.path, "a") as f:
            f.write(json.dumps({"step": step, self.prefix: dict(metrics)}) + "\\n")

    def log_image(self, tag, png, step):
        pass

    def finish(self, status, summary):
        with open(self.path, "a") as f:
            f.write(json.dumps({"status": status}) + "\\n")
"""


@pytest.fixture
def tracker_module(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    (tmp_path / "my_tracker.py").write_text(TRACKER)
    monkeypatch.syspath_prepend(str(tmp_path))
    return "my_tracker.JsonLinesTracker"


def _lines(run_dir: Path) -> list[dict]:
    return [json.loads(x) for x in (run_dir / "tracked.jsonl").read_text().splitlines()]


def test_a_users_own_logger_class_is_opened_by_its_target_alone(
    tmp_path: Path, tracker_module: str
) -> None:
    info = RunInfo(tmp_path / "run", PARAMS, None, tmp_path)
    loggers = open_loggers({"mine": {"_target_": tracker_module, "prefix": "p"}}, info)
    loggers.log_metrics({"val/loss": 0.5}, 1)
    loggers.finish("COMPLETE", {})
    assert loggers.warnings == []
    assert _lines(info.run_dir) == [
        {"params": PARAMS},
        {"step": 1, "p": {"val/loss": 0.5}},
        {"status": "COMPLETE"},
    ]


def test_a_users_logger_by_target_in_a_training_run(tmp_path: Path, tracker_module: str) -> None:
    from hpt.api import train

    wine = sk_data.shared_dir() / "wine.csv"
    result = train(
        ["data=table", f"data.path={wine}", "data.target=target", "trainer.epochs=2",
         "trainer.device=cpu", f"+logger.mine._target_={tracker_module}", "+logger.mine.prefix=q"],
        run_dir=tmp_path / "run",
    )  # fmt: skip
    assert result["status"] == "COMPLETE"
    lines = _lines(tmp_path / "run")
    assert lines[0]["params"]["trainer.epochs"] == 2
    assert [x["step"] for x in lines[1:-1]] == [1, 2] and "val/acc" in lines[1]["q"]
    assert lines[-1] == {"status": "COMPLETE"}


def test_the_conf_logger_options_name_their_classes() -> None:
    assert selection_of(compose_config(["logger=none"]).get("logger")) == {}
    both = selection_of(compose_config(["logger=[tensorboard,csv]"]).logger)
    assert both == {
        "tensorboard": {
            "_target_": "hpt.loggers.tensorboard_logger.TensorBoardLogger",
            "flush_secs": 30,
        },
        "csv": {"_target_": "hpt.loggers.csv_logger.CsvLogger"},
    }
    tuned = compose_config(["logger=mlflow", "logger.mlflow.experiment=x"]).logger
    assert selection_of(tuned)["mlflow"] == {
        "_target_": "hpt.loggers.mlflow_logger.MlflowLogger",
        "tracking_uri": None,
        "experiment": "x",
    }


def test_a_selection_without_target_takes_the_class_its_conf_file_names(tmp_path: Path) -> None:
    loggers = open_loggers({"csv": {}}, RunInfo(tmp_path, PARAMS, None, tmp_path))
    assert type(loggers.loggers[0]).__name__ == "CsvLogger"
    loggers.finish("COMPLETE", {})


def test_an_unknown_logger_or_target_is_one_readable_error(tmp_path: Path) -> None:
    info = RunInfo(tmp_path, PARAMS, None, tmp_path)
    with pytest.raises(UserError, match=r"^logger=nope is unknown: choose from csv, mlflow, none"):
        open_loggers({"nope": {}}, info)
    with pytest.raises(UserError, match=r"^logger\.mine\._target_=my_trackr\.X cannot be imported"):
        open_loggers({"mine": {"_target_": "my_trackr.X"}}, info)


def test_a_users_logger_missing_its_library_names_the_package(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "needs_lib.py").write_text("import not_installed_lib_xyz\nclass T: ...\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(UserError, match=r"^logger=t needs .* pip install not_installed_lib_xyz$"):
        open_loggers({"t": {"_target_": "needs_lib.T"}}, RunInfo(tmp_path, PARAMS))
