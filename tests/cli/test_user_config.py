"""The user's config folders layered over hpt's: ./conf, --config-dir, HPT_CONFIG_DIR."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from helpers import cli_env, compose_config, run_cli

HPT = str(Path(sys.executable).parent / "hpt")  # the console script: no cwd on sys.path

NET = """
import math
from torch import nn


class Net(nn.Module):
    def __init__(self, in_shape, out_features, hidden=8):
        super().__init__()
        self.body = nn.Sequential(
            nn.Flatten(), nn.Linear(math.prod(in_shape), hidden), nn.ReLU(),
            nn.Linear(hidden, out_features),
        )

    def forward(self, x):
        return self.body(x)
"""


def _write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text))
    return path


def test_a_conf_folder_in_the_current_directory_adds_a_model_importable_from_there(
    tmp_path: Path,
) -> None:
    _write(tmp_path / "mypkg" / "__init__.py", NET)
    _write(tmp_path / "conf" / "model" / "mynet.yaml", "_target_: mypkg.Net\nhidden: 12\n")
    env = cli_env()
    env.pop("PYTHONPATH", None)
    proc = subprocess.run(
        [
            HPT,
            "train",
            "data=mnist_tiny",
            "model=mynet",
            "trainer.epochs=1",
            "data.subset=300",
            "--quiet",
            f"hydra.run.dir={tmp_path / 'run'}",
        ],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    result = json.loads((tmp_path / "run" / "result.json").read_text())
    assert result["status"] == "COMPLETE"
    assert result["params"]["model._target_"] == "mypkg.Net"
    assert result["params"]["model.hidden"] == 12
    # 784*12 + 12 + 12*10 + 10: the constructor got in_shape and out_features from the data
    assert result["model"]["n_params"] == 784 * 12 + 12 + 12 * 10 + 10


def test_user_groups_sit_beside_hpts_and_shadow_those_of_the_same_name(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _write(tmp_path / "conf" / "model" / "mlp.yaml", "_target_: hpt.models.MLP\nwidth: 7\n")
    _write(
        tmp_path / "conf" / "search" / "mysearch.yaml",
        """\
        # @package _global_
        hydra:
          sweeper:
            params:
              optimizer.lr: interval(0.001, 0.1)
        """,
    )
    monkeypatch.chdir(tmp_path)
    cfg = compose_config(["search=mysearch"], hydra_config=True)
    assert cfg.model.width == 7 and "depth" not in cfg.model  # the user's mlp, not hpt's
    assert "optimizer.lr" in cfg.hydra.sweeper.params
    assert compose_config(["model=cnn"]).model._target_ == "hpt.models.CNN"  # hpt's stay


def test_hpt_config_dir_and_config_dir_flag_layer_in_order(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    a, b = tmp_path / "a", tmp_path / "b"
    _write(a / "model" / "shared.yaml", "_target_: hpt.models.MLP\nwidth: 1\n")
    _write(b / "model" / "shared.yaml", "_target_: hpt.models.MLP\nwidth: 2\n")
    _write(b / "model" / "only_b.yaml", "_target_: hpt.models.MLP\nwidth: 3\n")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("HPT_CONFIG_DIR", f"{a}:{b}")
    assert compose_config(["model=shared"]).model.width == 1
    assert compose_config(["model=only_b"]).model.width == 3
    # --config-dir comes first of all
    res = run_cli(
        ["train", "--cfg", "job", "--config-dir", str(b), "model=shared"],
        tmp_path,
        env=cli_env(HPT_CONFIG_DIR=str(a)),
    )
    assert res.rc == 0, res.stderr
    assert "width: 2" in res.stdout


def test_a_missing_or_root_config_folder_is_one_line_and_exit_2(tmp_path: Path) -> None:
    _write(tmp_path / "other" / "config.yaml", "defaults: []\n")
    cases = {
        "missing HPT_CONFIG_DIR": (["train"], {"HPT_CONFIG_DIR": str(tmp_path / "nope")}, "nope"),
        "missing --config-dir": (["train", f"--config-dir={tmp_path / 'gone'}"], {}, "gone"),
        "a root config": (["train", "-cd", str(tmp_path / "other")], {}, "config.yaml"),
    }
    for name, (args, extra, needle) in cases.items():
        res = run_cli(args, tmp_path, env=cli_env(**extra))
        assert res.rc == 2, (name, res.stderr)
        lines = res.stderr.strip().splitlines()
        assert len(lines) == 1 and needle in lines[0], (name, res.stderr)


def test_another_hydra_apps_conf_in_the_current_directory_is_left_alone(tmp_path: Path) -> None:
    _write(tmp_path / "conf" / "config.yaml", "defaults: []\nlr: 1\n")
    res = run_cli(["train", "--cfg", "job", "trainer.epochs=1"], tmp_path)
    assert res.rc == 0, res.stderr
    assert "not layered" in res.stderr and "hpt.models.MLP" in res.stdout
