"""Structured-config schemas: the type of every setting of every config group.

Registered in Hydra's ConfigStore as ``<group>/base_<group>``; each YAML option lists its
base first in its defaults, so ``trainer.epochs=abc`` or ``trainer.precision=fp8`` fails at
composition with a clear message instead of deep inside training. A setting's allowed range
is stated beside its field (``ruled``, in ``hpt.config.ranges``' language); ``hpt.config.rules``
checks them, and holds the ranges of the groups without a schema.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from hydra.core.config_store import ConfigStore

from hpt.config.ranges import (
    AUTO_BOOL,
    AUTO_COUNT,
    BOOL,
    COUNT,
    FRACTION,
    NATURAL,
    NONNEG,
    OPEN_UNIT,
    POSITIVE,
    Match,
    Num,
    OneOf,
    ruled,
)

# The config groups that define a supervised run, in the root config's order (conf/config.yaml):
# their settings are a run's params (``hpt.build.run_params``) and order the range checks.
GROUPS = (
    "data",
    "model",
    "optimizer",
    "scheduler",
    "regularization",
    "loss",
    "trainer",
    "compress",
)


class Precision(str, Enum):
    auto = "auto"
    fp32 = "fp32"
    bf16 = "bf16"
    fp16 = "fp16"


def plain(value: Any) -> Any:
    """The value of an Enum member (``Precision.bf16`` -> ``"bf16"``); anything else as it is."""
    return value.value if isinstance(value, Enum) else value


class Problem(str, Enum):
    """What the supervised model predicts; ``auto``: inferred from the data's targets."""

    auto = "auto"
    classification = "classification"
    binary = "binary"
    regression = "regression"


@dataclass
class DataConfig:
    """hpt's own sets (``data=mnist``, ``mnist_tiny``, ``binary``, ``regression``).

    ``_target_`` names each one's source (``hpt.data.builtin``); ``name`` is a display name.
    """

    _target_: str = "hpt.data.builtin.mnist"
    name: str = "mnist"
    problem: Problem = Problem.classification
    shape: list[int] = field(default_factory=lambda: [1, 28, 28])
    num_classes: int = 10
    root: str | None = None
    download: Any = True  # true | false (checked by RULES)
    subset: int | None = None
    n_samples: int = 4096
    n_features: int = 16
    noise: float = 0.1


@dataclass
class TableDataConfig:
    """``data=table`` (hpt/data/table.py)."""

    _target_: str = "hpt.data.table.load_table"
    name: str = "table"
    problem: Problem = Problem.auto
    path: str | None = None
    target: str | None = None
    features: list[str] | None = None
    test_path: str | None = None
    test_split: float = 0.2
    max_classes: int = 50
    target_scaling: str = "standard"  # regression: standard | none
    subset: int | None = None
    # trainer.epochs / batch_size unless set: a table wants more, smaller steps than images
    epochs: int = 30
    batch_size: int = 32


@dataclass
class ImageFolderDataConfig:
    """``data=image_folder`` (hpt/data/image_folder.py)."""

    _target_: str = "hpt.data.image_folder.load_image_folder"
    name: str = "image_folder"
    problem: Problem = Problem.classification
    root: str | None = None
    size: Any = 32  # pixels per side (checked by RULES)
    channels: Any = "auto"  # auto | 1 | 3
    test_split: float = 0.2
    subset: int | None = None


@dataclass
class TorchvisionDataConfig:
    """``data=torchvision`` (hpt/data/tv.py)."""

    _target_: str = "hpt.data.tv.load_torchvision"
    name: str = "FashionMNIST"
    problem: Problem = Problem.classification
    root: str | None = None
    download: bool = True
    subset: int | None = None


@dataclass
class AugmentConfig:
    translate: int = ruled(0, Num(0, 16, integer=True))  # pixels
    hflip: Any = ruled(False, BOOL)
    noise_std: float = ruled(0.0, NONNEG)


@dataclass
class EarlyStoppingConfig:
    patience: int | None = ruled(None, Num(1, integer=True, optional=True))
    min_delta: float = ruled(0.0, NONNEG)


@dataclass
class RegularizationConfig:
    weight_decay: float = ruled(0.0, NONNEG)
    l1: float = ruled(0.0, NONNEG)
    dropout: float = ruled(0.0, FRACTION)
    label_smoothing: float = ruled(0.0, FRACTION)
    grad_clip_norm: float | None = ruled(None, Num(0, lo_open=True, optional=True))
    augment: AugmentConfig = field(default_factory=AugmentConfig)
    early_stopping: EarlyStoppingConfig = field(default_factory=EarlyStoppingConfig)


class PruneMethod(str, Enum):
    none = "none"
    l1_unstructured = "l1_unstructured"
    random_unstructured = "random_unstructured"
    ln_structured = "ln_structured"


@dataclass
class CompressConfig:
    method: PruneMethod = ruled(PruneMethod.none, OneOf(tuple(m.value for m in PruneMethod)))
    amount: float = ruled(0.5, OPEN_UNIT)
    # global | layer (a str: `global` cannot name an Enum member)
    scope: str = ruled("global", OneOf(("global", "layer")))
    finetune_epochs: int = ruled(0, NATURAL)
    finetune_lr_factor: float = ruled(0.1, POSITIVE)
    quantize: Any = ruled(False, BOOL)
    latency_batch: int = ruled(1, COUNT)
    latency_threads: int = ruled(1, COUNT)


@dataclass
class TrainerConfig:
    epochs: int = ruled(5, COUNT)
    batch_size: int = ruled(128, COUNT)
    eval_batch_size: int = ruled(2048, COUNT)
    precision: Precision = ruled(Precision.auto, OneOf(tuple(p.value for p in Precision)))
    device: str = ruled(
        "auto", Match(r"auto|cpu|mps|cuda(:\d+)?", "auto, cpu, mps, cuda or cuda:N")
    )
    seed: int = ruled(0, Num(0, integer=True))
    deterministic: Any = ruled(False, BOOL)
    compile: Any = ruled(False, BOOL)
    channels_last: Any = ruled("auto", AUTO_BOOL)
    val_split: float = ruled(0.1, OPEN_UNIT)
    folds: Any = ruled("auto", AUTO_COUNT)  # auto: hpt.training.cv.auto_folds
    repeats: int = ruled(1, COUNT)
    refit: Any = ruled(False, BOOL)
    test: Any = ruled("auto", AUTO_BOOL)  # auto: hpt.training.reporter.tests_now
    data_on_device: Any = ruled("auto", AUTO_BOOL)
    num_workers: int = ruled(2, NATURAL)
    quiet: Any = ruled(False, BOOL)
    save_last: Any = ruled(True, BOOL)


def register() -> None:
    """Register every schema in Hydra's ConfigStore as ``<group>/base_<group>``.

    Idempotent: Hydra imports plugins and apps more than once.
    """
    cs = ConfigStore.instance()
    cs.store(group="data", name="base_data", node=DataConfig)
    cs.store(group="data", name="base_table", node=TableDataConfig)
    cs.store(group="data", name="base_image_folder", node=ImageFolderDataConfig)
    cs.store(group="data", name="base_torchvision", node=TorchvisionDataConfig)
    cs.store(group="regularization", name="base_regularization", node=RegularizationConfig)
    cs.store(group="trainer", name="base_trainer", node=TrainerConfig)
    cs.store(group="compress", name="base_compress", node=CompressConfig)
