"""``logger=wandb`` in W&B's offline mode, read back from the run's own ``.wandb`` file."""

from __future__ import annotations

import json
import struct
import time
from pathlib import Path
from typing import Any

import pytest

from hpt.errors import UserError
from hpt.loggers import RunInfo, open_loggers, summary_metrics

wandb = pytest.importorskip("wandb")

EPOCHS = [
    {"epoch": 1, "train/loss": 0.9, "val/acc": 0.5, "lr": 0.01},
    {"epoch": 2, "train/loss": 0.6, "val/acc": 0.7, "lr": 0.005},
]
PARAMS = {"optimizer.lr": 0.01, "optimizer.name": "adamw", "model.hidden": [64, 32]}


def read_wandb_records(path: Path) -> list[Any]:
    """The records of a ``.wandb`` transaction log (W&B's LevelDB-style format: a 7-byte
    header, then 32 KiB blocks of records, each ``<crc32 u32, length u16, type u8>`` + data,
    split FIRST/MIDDLE/LAST across blocks), parsed with W&B's own protobuf ``Record``."""
    from wandb.proto import wandb_internal_pb2 as pb

    data = path.read_bytes()
    assert data[:4] == b":W&B", "not a W&B transaction log"
    block, pos, pending, records = 32768, 7, b"", []
    while pos + 7 <= len(data):
        if block - pos % block < 7:  # a record header never straddles a block: padding
            pos += block - pos % block
            continue
        _, length, kind = struct.unpack("<IHB", data[pos : pos + 7])
        chunk, pos = data[pos + 7 : pos + 7 + length], pos + 7 + length
        if kind == 0:
            break
        if kind in (1, 2):  # FULL, FIRST
            pending = chunk
        else:  # MIDDLE, LAST
            pending += chunk
        if kind in (1, 4):
            record = pb.Record()
            record.ParseFromString(pending)
            records.append(record)
    return records


def _key(item: Any) -> str:
    return item.key or "/".join(item.nested_key)


def _offline_run(root: Path) -> dict[str, Any]:
    """run (config, group ...), history rows, merged summary and exit code of the one run."""
    files = list(root.glob("wandb/offline-run-*/run-*.wandb"))
    assert len(files) == 1, files
    out: dict[str, Any] = {"history": [], "summary": {}}
    # wandb-core writes the log from its own process: finish() can return before the
    # records reach the file, so wait (briefly) for the run's exit record.
    deadline = time.monotonic() + 30
    records = read_wandb_records(files[0])
    while not any(r.WhichOneof("record_type") == "exit" for r in records):
        assert time.monotonic() < deadline, f"no exit record in {files[0]} after 30 s"
        time.sleep(0.1)
        records = read_wandb_records(files[0])
    for record in records:
        kind = record.WhichOneof("record_type")
        if kind == "run":
            out["run"] = record.run
            out["config"] = {_key(u): json.loads(u.value_json) for u in record.run.config.update}
        elif kind == "history":
            out["history"].append({_key(i): json.loads(i.value_json) for i in record.history.item})
        elif kind == "summary":
            out["summary"].update(
                {_key(u): json.loads(u.value_json) for u in record.summary.update}
            )
        elif kind == "exit":
            out["exit_code"] = record.exit.exit_code
    return out


@pytest.fixture
def offline(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("WANDB_MODE", "offline")  # never the network
    monkeypatch.setenv("WANDB_DIR", str(tmp_path))
    monkeypatch.setenv("WANDB_SILENT", "true")
    return tmp_path


def _log(info: RunInfo, status: str) -> dict[str, float]:
    from PIL import Image

    loggers = open_loggers({"wandb": {"project": "hpt-test"}}, info)
    for m in EPOCHS:
        loggers.log_metrics(m, int(m["epoch"]))
    png = info.run_dir / "samples" / "epoch_002.png"
    png.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", (3, 2), (128, 128, 128)).save(png)  # a GAN/VAE sample grid
    loggers.log_image("samples", png, 2)
    summary = summary_metrics(EPOCHS[-1], {"test/acc": 0.69})
    loggers.finish(status, summary)
    return summary


def test_a_sweep_trial_is_one_offline_run_grouped_by_study(offline: Path) -> None:
    info = RunInfo(offline / "sweep" / "trial_0002", PARAMS, {"number": 2, "study_name": "tpe"})
    summary = _log(info, "COMPLETE")
    run = _offline_run(offline)
    assert (run["run"].project, run["run"].display_name) == ("hpt-test", "trial_0002")
    assert (run["run"].run_group, run["run"].job_type) == ("tpe", "trial")
    assert {k: run["config"][k] for k in (*PARAMS, "trial")} == {**PARAMS, "trial": 2}
    rows = [r for r in run["history"] if "val/acc" in r]
    assert [(r["_step"], r["val/acc"], r["lr"]) for r in rows] == [(1, 0.5, 0.01), (2, 0.7, 0.005)]
    image = next(r for r in run["history"] if "samples/_type" in r)  # nested keys joined by /
    assert (image["samples/_type"], image["samples/width"], image["_step"]) == ("image-file", 3, 2)
    assert list(offline.glob(f"wandb/offline-run-*/files/{image['samples/path']}"))
    assert run["summary"]["state"] == "COMPLETE"
    assert run["summary"]["test/acc"] == pytest.approx(summary["test/acc"])
    assert run["summary"]["best/val/acc"] == pytest.approx(0.7)
    assert run["exit_code"] == 0
    saved = json.loads((info.run_dir / "wandb.json").read_text())
    assert saved["run_id"] == run["run"].run_id  # a resumed run continues this one


def test_a_failed_run_exits_non_zero(offline: Path) -> None:
    _log(RunInfo(offline / "runs" / "r1", PARAMS), "FAIL")
    run = _offline_run(offline)
    assert run["run"].run_group == "" and run["summary"]["state"] == "FAIL"
    assert run["exit_code"] == 1


def test_online_without_a_login_is_one_readable_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("WANDB_API_KEY", "WANDB_MODE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))  # no ~/.netrc, no stored key
    monkeypatch.setenv("WANDB_CONFIG_DIR", str(tmp_path / "config"))
    monkeypatch.setenv("WANDB_DIR", str(tmp_path))
    info = RunInfo(tmp_path / "runs" / "r1", PARAMS)
    with pytest.raises(UserError, match=r"^logger=wandb: .*logger\.wandb\.mode=offline\)$") as err:
        open_loggers({"wandb": {"mode": "online"}}, info)
    assert "\n" not in str(err.value) and "API key" in str(err.value)


def test_without_wandb_dir_the_files_go_into_the_run_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("WANDB_DIR", raising=False)
    monkeypatch.delenv("WANDB_MODE", raising=False)
    info = RunInfo(tmp_path / "runs" / "r1", PARAMS)
    loggers = open_loggers({"wandb": {"mode": "offline"}}, info)  # the config's mode, not env
    loggers.log_metrics(EPOCHS[0], 1)
    loggers.finish("COMPLETE", {})
    run = _offline_run(info.run_dir)
    assert run["run"].project == "hpt" and run["summary"]["state"] == "COMPLETE"


def test_without_wandb_installed_the_error_names_the_extra(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import sys

    monkeypatch.setitem(sys.modules, "wandb", None)  # what `import wandb` meets without it
    monkeypatch.delitem(sys.modules, "hpt.loggers.wandb_logger", raising=False)
    with pytest.raises(UserError, match=r"pip install 'hpt\[wandb\]'"):
        open_loggers({"wandb": {}}, RunInfo(tmp_path, PARAMS))
