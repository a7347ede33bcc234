"""The cached per-trial composition gives exactly what Hydra's full composition gives."""

from __future__ import annotations

from pathlib import Path

import pytest
from hydra import compose, initialize_config_dir
from hydra.core.global_hydra import GlobalHydra
from hydra.core.hydra_config import HydraConfig
from omegaconf import OmegaConf

from hpt.cli.app import config_dir
from hpt.config.schema import register
from hpt.sweep.running.compose import TrialComposer


@pytest.fixture
def loader_and_master(tmp_path: Path):
    register()
    GlobalHydra.instance().clear()
    with initialize_config_dir(config_dir=str(config_dir()), version_base="1.3"):
        master = compose(
            "config",
            overrides=["data=mnist_tiny", f"hydra.sweep.dir={tmp_path}"],
            return_hydra_config=True,
        )
        HydraConfig.instance().set_config(master)
        yield GlobalHydra.instance().config_loader(), master
    GlobalHydra.instance().clear()


@pytest.mark.parametrize(
    "overrides",
    [
        ["optimizer=sgd", "optimizer.lr=0.05", "optimizer.momentum=0.8"],
        [
            "optimizer=adamw",
            "optimizer.lr=0.001",
            "trainer.batch_size=64",
            "regularization.dropout=0.1",
        ],
        ["model=cnn", "model.channels=[8,16]", "scheduler=onecycle", "+from_sweep=/x"],
    ],
)
def test_cached_composition_equals_full_composition(
    loader_and_master, overrides: list[str]
) -> None:
    loader, master = loader_and_master
    composer = TrialComposer(loader, master)
    composer.compose(overrides)  # fill the cache with this group combination
    cached = composer.compose(overrides)
    full = loader.load_sweep_config(master, overrides)
    strip = ("runtime",)  # cwd, versions and sources: set per composition
    a = OmegaConf.to_container(cached, resolve=False)
    b = OmegaConf.to_container(full, resolve=False)
    for d in (a, b):
        for k in strip:
            d["hydra"].pop(k, None)
    assert a == b
    assert list(cached.hydra.overrides.task) == overrides


def test_value_only_changes_reuse_one_composition(loader_and_master) -> None:
    loader, master = loader_and_master
    composer = TrialComposer(loader, master)
    a = composer.compose(["optimizer=sgd", "optimizer.lr=0.1"])
    b = composer.compose(["optimizer=sgd", "optimizer.lr=0.2"])
    assert len(composer.cache) == 1
    assert a.optimizer.lr == 0.1 and b.optimizer.lr == 0.2  # copies, not shared
