"""TensorBoard's HPARAMS of a sweep trial: only the searched settings and the compared metrics."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from hpt.loggers import RunInfo, open_loggers, summary_metrics

PARAMS = {
    "optimizer._target_": "torch.optim.AdamW",
    "optimizer.name": "adamw",
    "optimizer.lr": 0.01,
    "model.hidden": 128,
    "trainer.seed": 0,
    "trainer.epochs": 3,
}


def _hparams_records(run_dir: Path) -> tuple[set[str], dict[str, object]]:
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
    from tensorboard.plugins.hparams import plugin_data_pb2

    acc = EventAccumulator(str(run_dir / "tensorboard"))
    acc.Reload()
    content = acc.PluginTagToContent("hparams")
    records = [plugin_data_pb2.HParamsPluginData.FromString(c) for c in content.values()]
    experiment = next(r.experiment for r in records if r.HasField("experiment"))
    start = next(r.session_start_info for r in records if r.HasField("session_start_info"))
    return {m.name.tag for m in experiment.metric_infos}, dict(start.hparams)


def test_a_sweep_trial_logs_only_searched_settings_and_objective_test_metrics(
    tmp_path: Path,
) -> None:
    sweep = tmp_path / "sweep"
    sweep.mkdir()
    (sweep / "sweep.json").write_text(
        json.dumps(
            {
                "objectives": ["val/acc"],
                "search_space": {
                    "optimizer.lr": "tag(log, interval(1e-4, 1e-1))",
                    "optimizer": "choice(adamw, sgd)",
                },
            }
        )
    )
    info = RunInfo(sweep / "trial_0002", PARAMS, {"number": 2, "study_name": "s"}, tmp_path)
    loggers = open_loggers({"tensorboard": {"flush_secs": 1}}, info)
    loggers.log_metrics({"epoch": 1, "val/acc": 0.7, "val/loss": 0.5}, 1)
    best = {"epoch": 1, "val/acc": 0.7, "val/loss": 0.5, "train/loss": 0.6}
    loggers.finish("COMPLETE", summary_metrics(best, {"test/acc": 0.69, "test/loss": 0.52}))

    metrics, hp = _hparams_records(info.run_dir)
    assert metrics == {"best/val/acc", "test/acc", "test/loss"}
    assert set(hp) == {"optimizer.lr", "optimizer.name", "optimizer._target_", "trial", "status"}
    assert hp["optimizer.lr"].number_value == pytest.approx(0.01)
    assert hp["trial"].number_value == 2


def test_a_run_outside_a_sweep_keeps_all_params_and_compares_its_objective(
    tmp_path: Path,
) -> None:
    run = tmp_path / "runs" / "r1"
    run.mkdir(parents=True)
    objective = {"name": "val/acc", "value": 0.7, "direction": "maximize"}
    (run / "result.json").write_text(json.dumps({"objectives": [objective]}))
    loggers = open_loggers({"tensorboard": {"flush_secs": 1}}, RunInfo(run, PARAMS))
    best = {"epoch": 1, "val/acc": 0.7, "val/loss": 0.5}
    loggers.finish("COMPLETE", summary_metrics(best, {"test/acc": 0.69}))

    metrics, hp = _hparams_records(run)
    assert metrics == {"best/val/acc", "test/acc"}
    assert set(hp) == {*PARAMS, "status"}
