"""Structured-config schemas: the type of every setting of every config group.

Registered in Hydra's ConfigStore as ``<group>/base_<group>``; each YAML option lists its
base first in its defaults, so ``trainer.epochs=abc`` or ``trainer.precision=fp8`` fails at
composition with a clear message instead of deep inside training. Their ranges are in
``hpt.rules``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from hydra.core.config_store import ConfigStore


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
    translate: int = 0
    hflip: Any = False  # true | false (checked by RULES)
    noise_std: float = 0.0


@dataclass
class EarlyStoppingConfig:
    patience: int | None = None
    min_delta: float = 0.0


@dataclass
class RegularizationConfig:
    weight_decay: float = 0.0
    l1: float = 0.0
    dropout: float = 0.0
    label_smoothing: float = 0.0
    grad_clip_norm: float | None = None
    augment: AugmentConfig = field(default_factory=AugmentConfig)
    early_stopping: EarlyStoppingConfig = field(default_factory=EarlyStoppingConfig)


class PruneMethod(str, Enum):
    none = "none"
    l1_unstructured = "l1_unstructured"
    random_unstructured = "random_unstructured"
    ln_structured = "ln_structured"


@dataclass
class CompressConfig:
    method: PruneMethod = PruneMethod.none
    amount: float = 0.5
    scope: str = "global"  # global | layer (a str: `global` cannot name an Enum member)
    finetune_epochs: int = 0
    finetune_lr_factor: float = 0.1
    quantize: Any = False  # true | false (checked by RULES)
    latency_batch: int = 1
    latency_threads: int = 1


@dataclass
class TrainerConfig:
    epochs: int = 5
    batch_size: int = 128
    eval_batch_size: int = 2048
    precision: Precision = Precision.auto
    device: str = "auto"
    seed: int = 0
    deterministic: Any = False  # true | false (checked by RULES)
    compile: Any = False  # true | false (checked by RULES)
    channels_last: Any = "auto"
    val_split: float = 0.1
    folds: int = 1
    repeats: int = 1
    data_on_device: Any = "auto"
    num_workers: int = 2
    quiet: Any = False  # true | false (checked by RULES)
    save_last: Any = True  # true | false (checked by RULES)


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
