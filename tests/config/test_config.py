"""Every option of every config group composes and builds into working objects.

Options are discovered from ``conf/<group>/*.yaml``, so a new option is tested as soon as it exists.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from helpers import DATA_FOR_TASK, compose_config, find_mnist_root, sk_data
from omegaconf import OmegaConf
from torch import nn

from hpt.build import build
from hpt.cli.app import config_dir
from hpt.config.schema import GROUPS
from hpt.errors import UserError
from hpt.losses import FITS

LOSS_TASKS = {option: problem for problem, option in FITS.values()}  # loss option -> problem

FAST = ["trainer.epochs=1", "trainer.quiet=true"]


def options(group: str) -> list[str]:
    return sorted(p.stem for p in (config_dir() / group).glob("*.yaml"))


ALL_OPTIONS = [(g, o) for g in GROUPS for o in options(g)]


def _torchvision_mnist() -> list[str]:
    root = find_mnist_root()
    if root is None:
        pytest.skip("real MNIST not found: set HPT_DATA_DIR")
    return ["data.name=MNIST", f"data.root={root}", "data.download=false"]


# The user-data options (hpt/data/) on scikit-learn's bundled data (tests/helpers/sk_data.py).
USER_DATA = {
    "table": lambda: ["data.path=" + str(sk_data.shared_dir() / "wine.csv"), "data.target=target"],
    "image_folder": lambda: ["data.root=" + str(sk_data.shared_dir() / "digits"), "data.size=8"],
    "custom": lambda: ["data._target_=helpers.sk_data.digits_tensors"],
    "torchvision": _torchvision_mnist,
}


def overrides_for(group: str, option: str) -> list[str]:
    """The override for one option plus the data it needs (a regression loss needs regression data)."""
    extra: list[str] = []
    if group == "loss" and option in LOSS_TASKS:
        extra.append(f"data={DATA_FOR_TASK[LOSS_TASKS[option]]}")
    elif group == "data" and option == "mnist":
        root = find_mnist_root()
        if root is None:
            pytest.skip("real MNIST not found: set HPT_DATA_DIR")
        extra += [f"data.root={root}", "data.download=false"]
    elif group == "data" and option in USER_DATA:
        extra += USER_DATA[option]()
    elif group == "model" and option == "custom":
        extra += ["data=mnist_tiny", "model._target_=hpt.models.MLP"]
    elif group != "data":
        extra.append("data=mnist_tiny")
    return [f"{group}={option}", *extra, *FAST]


def test_every_group_has_options() -> None:
    for group in GROUPS:
        assert options(group), f"conf/{group} has no options"


@pytest.mark.parametrize(("group", "option"), ALL_OPTIONS, ids=[f"{g}={o}" for g, o in ALL_OPTIONS])
def test_option_composes_and_builds(group: str, option: str) -> None:
    cfg = compose_config(overrides_for(group, option))
    OmegaConf.to_container(cfg, resolve=True)  # every interpolation resolves
    run = build(cfg)

    assert isinstance(run.model, nn.Module) and run.n_params > 0
    if group != "scheduler":  # a schedule may start below the base lr (warmup, onecycle)
        assert run.optimizer.param_groups[0]["lr"] == pytest.approx(float(cfg.optimizer.lr))
    assert type(run.optimizer).__name__ == str(cfg.optimizer._target_).rsplit(".", 1)[-1]
    assert len(run.data.train) > 0 and len(run.data.val) > 0 and len(run.data.test) > 0
    x, y = run.data.train.x[:4], run.data.train.y[:4]
    run.model.eval()
    with torch.no_grad():
        out = run.model(x)
    assert out.shape[0] == 4 and torch.isfinite(out).all()
    loss = run.loss_fn(out.float(), y)
    assert torch.isfinite(loss)


def test_optimizer_receives_weight_decay_from_regularization() -> None:
    run = build(
        compose_config(
            ["data=mnist_tiny", "optimizer=sgd", "regularization.weight_decay=0.01", *FAST]
        )
    )
    assert run.optimizer.param_groups[0]["weight_decay"] == pytest.approx(0.01)
    assert run.optimizer.param_groups[0]["momentum"] == pytest.approx(0.9)


def test_strong_regularization_reaches_loss_loop_and_model() -> None:
    run = build(compose_config(["data=mnist_tiny", "regularization=strong", *FAST]))
    s = run.settings
    assert run.loss_fn.label_smoothing == pytest.approx(0.1)
    assert s.grad_clip_norm == pytest.approx(1.0)
    assert s.augment["translate"] == 2
    assert s.patience == 3 and s.min_delta == pytest.approx(0.0005)
    assert any(isinstance(m, nn.Dropout) and m.p == pytest.approx(0.2) for m in run.model.modules())


# model=custom is the user's own class: what it does with dropout is its business; the
# FT-Transformer has three dropouts of its own (attention, FFN, residual: search=ft_transformer)
@pytest.mark.parametrize(
    "model", [m for m in options("model") if m not in ("custom", "ft_transformer")]
)
def test_dropout_setting_appears_in_the_model(model: str) -> None:
    with_dropout = build(
        compose_config(["data=mnist_tiny", f"model={model}", "regularization.dropout=0.3", *FAST])
    ).model
    without = build(
        compose_config(["data=mnist_tiny", f"model={model}", "regularization.dropout=0", *FAST])
    ).model
    assert [m.p for m in with_dropout.modules() if isinstance(m, nn.Dropout)] and all(
        m.p == pytest.approx(0.3) for m in with_dropout.modules() if isinstance(m, nn.Dropout)
    )
    assert not any(isinstance(m, nn.Dropout) for m in without.modules())


def test_auto_loss_and_objective_follow_the_task() -> None:
    expected = {
        "mnist_tiny": (nn.CrossEntropyLoss, "val/acc", "maximize"),
        "binary": (nn.BCEWithLogitsLoss, "val/acc", "maximize"),
        "regression": (nn.MSELoss, "val/loss", "minimize"),
    }
    for data, (loss_type, metric, direction) in expected.items():
        run = build(compose_config([f"data={data}", *FAST]))
        assert type(run.loss_fn) is loss_type
        assert (run.objectives[0].name, run.objectives[0].direction) == (metric, direction)


def test_hydra_run_dir_is_configurable(tmp_path: Path) -> None:
    cfg = compose_config([f"hydra.run.dir={tmp_path}"], hydra_config=True)
    assert cfg.hydra.run.dir == str(tmp_path)
    assert cfg.hydra.job.chdir is False


def test_a_loss_for_another_task_is_a_user_error() -> None:
    with pytest.raises(UserError, match="loss=mse does not fit a classification task"):
        build(compose_config(["data=mnist_tiny", "loss=mse", *FAST]))
