"""The user's model: a config file or a one-liner, in_shape / out_features passed by name only,
and one line for whatever goes wrong building it."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest
import torch
from helpers import cli_env, run_cli_many
from torch import nn

from hpt.build import build_model
from hpt.errors import UserError


class NoShapes(nn.Module):  # takes neither: hpt must not pass them
    def __init__(self, width: int = 4) -> None:
        super().__init__()
        self.net = nn.Sequential(nn.Flatten(), nn.LazyLinear(width))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


class OutOnly(nn.Module):  # takes out_features only; its input size is its own argument
    def __init__(self, out_features: int, in_features: int = 784) -> None:
        super().__init__()
        self.out_features = out_features
        self.net = nn.Sequential(nn.Flatten(), nn.Linear(in_features, out_features))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


@pytest.fixture(autouse=True)
def _this_module_is_importable(monkeypatch: pytest.MonkeyPatch) -> None:
    """The models above are named by ``_target_`` as ``test_own_model.X``, as a user names a
    module of theirs; pytest imports this file by path, so the name is given to it here."""
    monkeypatch.setitem(sys.modules, "test_own_model", sys.modules[__name__])


def _cfg(target: str, **kwargs: object):  # type: ignore[no-untyped-def]
    from omegaconf import OmegaConf

    return OmegaConf.create({"_target_": target, **kwargs})


def test_shapes_are_passed_only_to_constructors_that_name_them() -> None:
    assert isinstance(
        build_model(_cfg("test_own_model.NoShapes", width=3), [1, 8, 8], 10), NoShapes
    )
    model = build_model(_cfg("test_own_model.OutOnly"), [1, 8, 8], 7)
    assert isinstance(model, OutOnly) and model.out_features == 7
    mlp = build_model(_cfg("hpt.models.MLP", width=5, depth=1), [3, 4], 2)
    assert mlp(torch.zeros(2, 3, 4)).shape == (2, 2)
    # a value the config sets itself wins over hpt's
    linear = build_model(_cfg("torch.nn.Linear", in_features=12, out_features=4), [12], 9)
    assert linear.out_features == 4


def test_what_goes_wrong_building_a_model_is_one_user_error() -> None:
    cases = {
        "test_own_model.NoShapes": ({"depth": 2}, "unexpected keyword argument 'depth'"),
        "test_own_model.Missing": ({}, "cannot be imported"),
        "nopkg.Net": ({}, "No module named 'nopkg'"),
        "torch.zeros": ({}, "could not be built"),  # zeros() without a size
        "collections.OrderedDict": ({}, "not a torch.nn.Module"),
    }
    for target, (kwargs, needle) in cases.items():
        with pytest.raises(UserError, match=needle):
            build_model(_cfg(target, **kwargs), [4], 2)
    with pytest.raises(UserError, match="model=null"):
        build_model(None, [4], 2)


def test_bad_models_on_the_command_line_are_exit_2_and_one_line(tmp_path: Path) -> None:
    cases = {
        "null": (["model=null"], "model=null: choose a model"),
        "custom without target": (["model=custom"], "model._target_ is not set"),
        "not importable": (
            ["model=custom", "model._target_=nopkg.Net"],
            "nopkg.Net cannot be imported",
        ),
        "rejects args": (["model._target_=test_own_model.NoShapes"], "could not be built"),
        "wrong data": (["model=cnn", "data=regression"], "needs image data"),
    }
    here = Path(__file__).resolve()  # this module (the _target_s above) and the helpers it imports
    env = cli_env(PYTHONPATH=os.pathsep.join([str(here.parent), str(here.parents[1])]))
    jobs = {
        n: (["train", "data=mnist_tiny", *a, "trainer.epochs=1"], env)
        for n, (a, _) in cases.items()
    }
    results = run_cli_many(jobs, tmp_path)
    for name, (_, needle) in cases.items():
        res = results[name]
        lines = res.stderr.strip().splitlines()
        assert res.rc == 2 and len(lines) == 1 and needle in lines[0], (name, res.stderr)


def test_a_model_one_liner_trains(tmp_path: Path) -> None:
    from hpt.api import train

    result = train(
        [
            "data=mnist_tiny",
            "data.subset=300",
            "model=custom",
            "model._target_=test_own_model.OutOnly",
            "trainer.epochs=1",
            "trainer.device=cpu",
        ],
        run_dir=tmp_path / "run",
    )
    assert result["status"] == "COMPLETE" and result["model"]["n_params"] == 784 * 10 + 10
