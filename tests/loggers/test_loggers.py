"""The experiment trackers, read back with each tool's own reader.

TensorBoard: tensorboard's EventAccumulator; MLflow: MlflowClient on a real SQLite store and
on a real ``mlflow server`` over HTTP; CSV: the csv module. Each is chosen by ``_target_``, and so
is a user's own tracker class.
"""

from __future__ import annotations

import csv
import json
import struct
import subprocess
import sys
import zlib
from pathlib import Path

import pytest
from helpers import compose_config, sk_data
from helpers.mlflow_server import mlflow_server

from hpt.errors import UserError
from hpt.loggers import RunInfo, open_loggers, selection_of, summary_metrics

EPOCHS = [
    {"epoch": 1, "train/loss": 0.9, "val/loss": 0.8, "val/acc": 0.5, "lr": 0.01},
    {"epoch": 2, "train/loss": 0.6, "val/loss": 0.5, "val/acc": 0.7, "lr": 0.005},
    {"epoch": 3, "train/loss": 0.4, "val/loss": 0.45, "val/acc": 0.75, "lr": 0.0025},
]
PARAMS = {
    "optimizer.lr": 0.01,
    "model.hidden": [64, 32],
    "optimizer.name": "adamw",
    "trainer.seed": 0,
}


def _png(path: Path, width: int = 3, height: int = 2) -> Path:
    """A real (tiny, grey) PNG, as the GAN/VAE grids are."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    raw = b"".join(b"\x00" + b"\x80" * width * 3 for _ in range(height))
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", ihdr)
        + chunk(b"IDAT", zlib.compress(raw))
        + chunk(b"IEND", b"")
    )
    return path


def _log_run(selection: dict, info: RunInfo, status: str = "COMPLETE") -> dict[str, float]:
    loggers = open_loggers(selection, info)
    for m in EPOCHS[info.start_epoch :]:
        loggers.log_metrics(m, int(m["epoch"]))
    loggers.log_image("samples", _png(info.run_dir / "samples" / "epoch_003.png"), 3)
    summary = summary_metrics(EPOCHS[2], {"test/loss": 0.44, "test/acc": 0.76})
    loggers.finish(status, summary)
    return summary


def test_tensorboard_scalars_image_and_hparams_read_back(tmp_path: Path) -> None:
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
    from tensorboard.plugins.hparams import plugin_data_pb2

    info = RunInfo(tmp_path / "trial_0003", PARAMS, {"number": 3, "study_name": "s"}, tmp_path)
    summary = _log_run({"tensorboard": {"flush_secs": 1}}, info)
    acc = EventAccumulator(
        str(info.run_dir / "tensorboard"), size_guidance={"scalars": 0, "images": 0}
    )
    acc.Reload()
    for key in ("train/loss", "val/loss", "val/acc", "lr"):
        events = acc.Scalars(key)
        assert [e.step for e in events] == [1, 2, 3]
        assert [e.value for e in events] == pytest.approx([m[key] for m in EPOCHS])
    assert acc.Scalars("best/val/acc")[-1].value == pytest.approx(0.75)
    assert acc.Scalars("test/acc")[-1].value == pytest.approx(0.76)
    image = acc.Images("samples")[0]
    assert (image.step, image.width, image.height) == (3, 3, 2)
    # the hparams plugin: the experiment lists the metrics, the session carries the params
    content = acc.PluginTagToContent("hparams")
    records = [plugin_data_pb2.HParamsPluginData.FromString(c) for c in content.values()]
    experiment = next(r.experiment for r in records if r.HasField("experiment"))
    assert {m.name.tag for m in experiment.metric_infos} == set(summary)
    start = next(r.session_start_info for r in records if r.HasField("session_start_info"))
    hp = start.hparams
    assert hp["optimizer.lr"].number_value == pytest.approx(0.01)
    assert hp["optimizer.name"].string_value == "adamw"
    assert hp["model.hidden"].string_value == "[64, 32]"
    assert hp["trial"].number_value == 3
    assert hp["status"].string_value == "COMPLETE"


def test_mlflow_sweep_trials_are_nested_runs_of_one_study_run(tmp_path: Path) -> None:
    from mlflow import MlflowClient

    sweep = tmp_path / "sweep"
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    for number, status in ((0, "COMPLETE"), (1, "PRUNED"), (2, "FAIL")):
        info = RunInfo(
            sweep / f"trial_{number:04d}",
            PARAMS,
            {"number": number, "study_name": "mnist-tpe"},
            tmp_path,
        )
        _log_run({"mlflow": {"tracking_uri": uri}}, info, status)
    client = MlflowClient(tracking_uri=uri)
    experiment = client.get_experiment_by_name("mnist-tpe")
    runs = client.search_runs([experiment.experiment_id])
    parents = [r for r in runs if "mlflow.parentRunId" not in r.data.tags]
    children = sorted(
        (r for r in runs if r not in parents), key=lambda r: int(r.data.tags["trial"])
    )
    assert len(parents) == 1 and parents[0].data.tags["study"] == "mnist-tpe"
    assert [r.data.tags["mlflow.parentRunId"] for r in children] == [parents[0].info.run_id] * 3
    assert [r.data.tags["state"] for r in children] == ["COMPLETE", "PRUNED", "FAIL"]
    assert [r.info.status for r in children] == ["FINISHED", "FINISHED", "FAILED"]
    assert [r.info.run_name for r in children] == ["trial_0000", "trial_0001", "trial_0002"]
    first = children[0]
    assert first.data.params["optimizer.lr"] == "0.01"
    assert first.data.params["model.hidden"] == "[64, 32]"
    history = client.get_metric_history(first.info.run_id, "val/acc")
    assert [(h.step, h.value) for h in history] == [(1, 0.5), (2, 0.7), (3, 0.75)]
    assert [h.value for h in client.get_metric_history(first.info.run_id, "lr")] == [
        0.01,
        0.005,
        0.0025,
    ]
    assert first.data.metrics["test/acc"] == pytest.approx(0.76)
    assert first.data.metrics["best/val/acc"] == pytest.approx(0.75)
    assert [a.path for a in client.list_artifacts(first.info.run_id, "samples")] == [
        "samples/epoch_003.png"
    ]
    assert list((tmp_path / "mlartifacts" / "mnist-tpe").glob("*/artifacts/samples/epoch_003.png"))


def test_mlflow_resumed_run_continues_the_same_run(tmp_path: Path) -> None:
    from mlflow import MlflowClient

    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    run_dir = tmp_path / "run"
    loggers = open_loggers(
        {"mlflow": {"tracking_uri": uri, "experiment": "resume"}},
        RunInfo(run_dir, PARAMS, None, tmp_path),
    )
    for m in EPOCHS[:2]:
        loggers.log_metrics(m, int(m["epoch"]))
    for op in loggers.loggers[0].pending:  # type: ignore[attr-defined]
        op.wait()
    del loggers  # killed: never finished
    _log_run(
        {"mlflow": {"tracking_uri": uri, "experiment": "resume"}},
        RunInfo(run_dir, PARAMS, None, tmp_path, start_epoch=2),
    )
    client = MlflowClient(tracking_uri=uri)
    (run,) = client.search_runs([client.get_experiment_by_name("resume").experiment_id])
    assert run.info.status == "FINISHED"
    assert [h.step for h in client.get_metric_history(run.info.run_id, "val/acc")] == [1, 2, 3]


def test_mlflow_logs_to_a_real_tracking_server_over_http(tmp_path: Path) -> None:
    from mlflow import MlflowClient

    with mlflow_server(tmp_path) as server:
        uri = server.uri
        info = RunInfo(tmp_path / "run", PARAMS, None, tmp_path)
        _log_run({"mlflow": {"tracking_uri": uri, "experiment": "served"}}, info)
        client = MlflowClient(tracking_uri=uri)
        (run,) = client.search_runs([client.get_experiment_by_name("served").experiment_id])
        assert run.info.status == "FINISHED"
        assert [h.value for h in client.get_metric_history(run.info.run_id, "val/loss")] == [
            0.8,
            0.5,
            0.45,
        ]
        assert run.data.params["optimizer.name"] == "adamw"
        assert not (tmp_path / "outputs").exists()  # nothing went to the default local store


def test_csv_rows_per_epoch_and_resume_keeps_the_done_epochs(tmp_path: Path) -> None:
    info = RunInfo(tmp_path / "run", PARAMS, None, tmp_path)
    loggers = open_loggers({"csv": {}}, info)
    for m in EPOCHS:  # epoch 3 is "lost": the checkpoint was taken after epoch 2
        loggers.log_metrics(m, int(m["epoch"]))
    _log_run({"csv": {}}, RunInfo(info.run_dir, PARAMS, None, tmp_path, start_epoch=2))
    with open(info.run_dir / "metrics.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert [r["epoch"] for r in rows] == ["1", "2", "3"]
    assert [float(r["val/acc"]) for r in rows] == [0.5, 0.7, 0.75]
    assert list(rows[0]) == ["epoch", "train/loss", "val/loss", "val/acc", "lr"]


def test_several_loggers_at_once_and_none(tmp_path: Path) -> None:
    info = RunInfo(tmp_path / "run", PARAMS, None, tmp_path)
    _log_run({"csv": {}, "tensorboard": {"flush_secs": 1}}, info)
    assert (info.run_dir / "metrics.csv").is_file()
    assert any((info.run_dir / "tensorboard").iterdir())
    assert open_loggers({}, info).loggers == []


def test_a_logger_that_is_not_installed_names_the_install_command(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # None in sys.modules makes Python's import system refuse the module, as if not installed.
    monkeypatch.setitem(sys.modules, "mlflow", None)
    monkeypatch.delitem(sys.modules, "hpt.loggers.mlflow_logger", raising=False)
    with pytest.raises(UserError, match=r"pip install 'hpt\[mlflow\]'"):
        open_loggers({"mlflow": {}}, RunInfo(tmp_path, PARAMS, None, tmp_path))


def test_a_logger_option_typo_is_a_user_error(tmp_path: Path) -> None:
    with pytest.raises(UserError, match=r"logger\.csv"):
        open_loggers({"csv": {"flush_sec": 1}}, RunInfo(tmp_path, PARAMS, None, tmp_path))


# --- end to end: `hpt train logger=...` -------------------------------------------------------


def test_train_logs_every_epoch_row_to_all_three_trackers(tmp_path: Path) -> None:
    from helpers import run_cli
    from mlflow import MlflowClient
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    from hpt.rundir import read_json, read_jsonl

    result = run_cli(
        [
            "train",
            "data=mnist_tiny",
            "data.subset=400",
            "trainer.epochs=2",
            "trainer.device=cpu",
            "logger=[tensorboard,mlflow,csv]",
            "--quiet",
        ],
        tmp_path,
    )
    assert result.rc == 0, result.stderr
    rows = read_jsonl(result.run_dir / "metrics.jsonl")
    acc = EventAccumulator(str(result.run_dir / "tensorboard"), size_guidance={"scalars": 0})
    acc.Reload()
    assert [e.value for e in acc.Scalars("val/acc")] == pytest.approx([r["val/acc"] for r in rows])
    assert [e.value for e in acc.Scalars("lr")] == pytest.approx([r["lr"] for r in rows])
    test = read_json(result.run_dir / "result.json")["test"]
    assert acc.Scalars("test/acc")[-1].value == pytest.approx(test["test/acc"])
    client = MlflowClient(tracking_uri=f"sqlite:///{tmp_path / 'outputs' / 'mlflow.db'}")
    (run,) = client.search_runs([client.get_experiment_by_name("hpt").experiment_id])
    assert [h.value for h in client.get_metric_history(run.info.run_id, "val/loss")] == [
        r["val/loss"] for r in rows
    ]
    assert run.data.params["trainer.epochs"] == "2"
    assert run.data.tags["state"] == "COMPLETE" and run.info.status == "FINISHED"
    with open(result.run_dir / "metrics.csv", newline="") as f:
        assert [float(r["val/acc"]) for r in csv.DictReader(f)] == [r["val/acc"] for r in rows]


def test_vae_sample_grids_reach_tensorboard_as_images(tmp_path: Path) -> None:
    from helpers import run_cli
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    result = run_cli(
        [
            "train",
            "task=vae",
            "task.model.width=64",
            "task.model.latent_dim=8",
            "task.grid=16",
            "data=mnist_tiny",
            "data.subset=400",
            "trainer.epochs=2",
            "trainer.device=cpu",
            "logger=tensorboard",
            "--quiet",
        ],
        tmp_path,
    )
    assert result.rc == 0, result.stderr
    acc = EventAccumulator(str(result.run_dir / "tensorboard"), size_guidance={"images": 0})
    acc.Reload()
    assert [i.step for i in acc.Images("samples")] == [1, 2]
    assert [i.step for i in acc.Images("samples_recon")] == [1, 2]
    png = (result.run_dir / "samples" / "epoch_002.png").read_bytes()
    assert acc.Images("samples")[-1].encoded_image_string == png


def test_train_with_an_uninstalled_logger_exits_2_with_the_install_command(tmp_path: Path) -> None:
    code = (
        "import sys; sys.modules['tensorboard'] = None; sys.modules['torch.utils.tensorboard'] = None\n"
        "from hpt.cli.commands import main; sys.exit(main(sys.argv[1:]))"
    )
    proc = subprocess.run(
        [
            sys.executable,
            "-c",
            code,
            "train",
            "data=mnist_tiny",
            "trainer.device=cpu",
            "logger=tensorboard",
            f"hydra.run.dir={tmp_path / 'run'}",
        ],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=300,
    )
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("hpt train: error: logger=tensorboard needs")
    assert "pip install 'hpt[tensorboard]'" in lines[0]


# --- chosen by _target_: conf/logger/*.yaml name their classes, a user's own needs no more ---

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
        [
            "data=table",
            f"data.path={wine}",
            "data.target=target",
            "trainer.epochs=2",
            "trainer.device=cpu",
            f"+logger.mine._target_={tracker_module}",
            "+logger.mine.prefix=q",
        ],
        run_dir=tmp_path / "run",
    )
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
