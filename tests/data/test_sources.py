"""Data sources are chosen by ``_target_`` alone, as models and optimizers are: a source in a
user's own module works without hpt knowing its name, and an option's name picks nothing."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from helpers import compose_config
from helpers import run_in_process as hpt
from omegaconf import OmegaConf

from hpt.build import build, data_problem
from hpt.cli.app import config_dir
from hpt.targets import locate

FAST = ["trainer.epochs=1", "trainer.quiet=true", "trainer.device=cpu"]

# A source of the user's own: hpt's Loaded, asking hpt to standardise every column per run.
SOURCE = """
import torch
from hpt.data import Loaded


def load(rows: int = 300, width: int = 5, problem: str = "auto") -> Loaded:
    g = torch.Generator().manual_seed(0)
    x = torch.randn(rows, width, generator=g) * 10 + 3
    y = (x[:, 0] > 3).long()
    n = rows // 5
    mask = torch.ones(width, dtype=torch.bool)
    return Loaded(x[n:], y[n:], x[:n], y[:n], "classification", 2, norm="columns", columns=mask)
"""


def _module(tmp_path: Path, name: str) -> str:
    (tmp_path / f"{name}.py").write_text(SOURCE)
    return f"{name}.load"


def test_a_source_in_your_own_module_and_conf_runs_by_its_target_alone(tmp_path: Path) -> None:
    target = _module(tmp_path, "my_rows_source")
    (tmp_path / "conf" / "data").mkdir(parents=True)
    (tmp_path / "conf" / "data" / "rows.yaml").write_text(
        f"_target_: {target}\nname: my rows\nrows: 400\nproblem: auto\n"
    )
    run_dir = tmp_path / "run"
    rc, _, err = hpt(
        "train",
        "--config-dir",
        str(tmp_path / "conf"),
        "data=rows",
        "data.rows=250",
        *FAST,
        f"hydra.run.dir={run_dir}",
        cwd=tmp_path,
    )
    assert rc == 0, err
    result = json.loads((run_dir / "result.json").read_text())
    assert result["status"] == "COMPLETE"
    assert result["params"]["data.rows"] == 250
    prep = json.loads((run_dir / "preprocessing.json").read_text())
    assert prep["problem"] == "classification" and prep["classes"] == ["0", "1"]
    assert prep["normalise"]["kind"] == "columns" and len(prep["normalise"]["mean"]) == 5


def test_the_option_name_picks_nothing_the_target_does(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.syspath_prepend(str(tmp_path))
    target = _module(tmp_path, "my_named_source")
    # data=table with another _target_ is that source: the option's name does not decide
    run = build(compose_config(["data=table", f"data._target_={target}", *FAST]))
    data = run.data
    assert data.problem == "classification" and data.in_shape == [5] and data.out_features == 2
    assert len(data.test) == 60 and len(data.train) + len(data.val) == 240
    # normalised per run with training-split statistics, as the source asked
    assert data.train.x.mean(0).abs().max() < 1e-4
    assert data.val.x.mean(0).abs().max() > 1e-3
    cfg = compose_config(["data=custom", f"data._target_={target}", "+data.rows=100"])
    assert data_problem(cfg) == "classification"  # problem=auto: read from what it loaded


@pytest.mark.parametrize("option", sorted(p.stem for p in (config_dir() / "data").glob("*.yaml")))
def test_every_data_option_names_its_source_by_target(option: str) -> None:
    own = OmegaConf.load(config_dir() / "data" / f"{option}.yaml")
    assert "_target_" in OmegaConf.to_container(own), f"conf/data/{option}.yaml names no _target_"
    if option == "custom":  # the user names theirs
        assert OmegaConf.is_missing(own, "_target_")
    else:
        target = compose_config([f"data={option}"]).data._target_
        assert callable(locate(str(target), "data._target_"))
