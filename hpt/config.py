"""Structured-config schemas and the allowed range of every setting.

Registered in Hydra's ConfigStore as ``<group>/base_<group>``; each YAML option lists its
base first in its defaults, so ``trainer.epochs=abc`` or ``trainer.precision=fp8`` fails at
composition with a clear message instead of deep inside training.

Types alone let nonsense through (``model.width=0``, ``regularization.dropout=-0.1``,
``optimizer.lr=inf``): ``RULES`` holds the allowed range of every numeric, boolean and
enumerated key of every group, and ``validate`` checks a composed config against it once,
right after composition (``Validate``, a Hydra callback, before the run dir exists; and for
each job of `hpt train -m`), so a bad value is one line and exit code 2, never a run.
"""

from __future__ import annotations

import dataclasses
import difflib
import itertools
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import Any

from hydra.core.config_store import ConfigStore
from hydra.experimental.callback import Callback
from omegaconf import DictConfig, ListConfig, OmegaConf
from omegaconf.errors import OmegaConfBaseException

from hpt.errors import UserError


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
    """``data=table`` (hpt/datasets/table.py)."""

    source: str = "table"
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
    """``data=image_folder`` (hpt/datasets/image_folder.py)."""

    source: str = "image_folder"
    name: str = "image_folder"
    problem: Problem = Problem.classification
    root: str | None = None
    size: Any = 32  # pixels per side (checked by RULES)
    channels: Any = "auto"  # auto | 1 | 3
    test_split: float = 0.2
    subset: int | None = None


@dataclass
class TorchvisionDataConfig:
    """``data=torchvision`` (hpt/datasets/tv.py)."""

    source: str = "torchvision"
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
    """Idempotent: Hydra imports plugins and apps more than once."""
    cs = ConfigStore.instance()
    cs.store(group="data", name="base_data", node=DataConfig)
    cs.store(group="data", name="base_table", node=TableDataConfig)
    cs.store(group="data", name="base_image_folder", node=ImageFolderDataConfig)
    cs.store(group="data", name="base_torchvision", node=TorchvisionDataConfig)
    cs.store(group="regularization", name="base_regularization", node=RegularizationConfig)
    cs.store(group="trainer", name="base_trainer", node=TrainerConfig)
    cs.store(group="compress", name="base_compress", node=CompressConfig)


# --- the allowed values of every setting ------------------------------------------------


INT_MAX = 2**31 - 1


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


@dataclass(frozen=True)
class Num:
    """A finite number from ``lo`` to ``hi`` (ends excluded where ``*_open``)."""

    lo: float = -math.inf
    hi: float = math.inf
    lo_open: bool = False
    hi_open: bool = False
    integer: bool = False
    optional: bool = False  # null allowed (it switches the feature off)

    @property
    def top(self) -> float:
        """An integer setting is a C int downstream: 2**31-1 at most, whatever ``hi`` says."""
        return min(self.hi, INT_MAX) if self.integer else self.hi

    def allows(self, value: Any) -> bool:
        if value is None:
            return self.optional
        if (
            not _number(value)
            or not math.isfinite(value)
            or (self.integer and not isinstance(value, int))
        ):
            return False
        above = value > self.lo if self.lo_open else value >= self.lo
        below = value < self.top if self.hi_open else value <= self.top
        return above and below

    def __str__(self) -> str:
        kind = "an integer" if self.integer else "a number"
        lo, hi = (
            f"{int(b)}" if self.integer and math.isfinite(b) else f"{b:g}"
            for b in (self.lo, self.top)
        )
        if math.isinf(self.lo) and math.isinf(self.top):
            text = "a finite number"
        elif math.isinf(self.top):
            text = f"{kind} {'>' if self.lo_open else '>='} {lo}"
        elif math.isinf(self.lo):
            text = f"{kind} {'<' if self.hi_open else '<='} {hi}"
        else:
            text = (
                f"{kind} in {'(' if self.lo_open else '['}{lo}, {hi}{')' if self.hi_open else ']'}"
            )
        return f"null or {text}" if self.optional else text


@dataclass(frozen=True)
class OneOf:
    """One of ``choices``; ``True``/``False`` match only real booleans (not 1, 2 or "yes")."""

    choices: tuple[Any, ...]

    def allows(self, value: Any) -> bool:
        value = getattr(value, "value", value)  # an Enum member of a structured config
        return any(type(value) is type(c) and value == c for c in self.choices)

    def __str__(self) -> str:
        names = [str(c).lower() if isinstance(c, bool) else str(c) for c in self.choices]
        return "one of " + ", ".join(names) if len(names) > 2 else " or ".join(names)


@dataclass(frozen=True)
class ListOf:
    """A list of ``item`` values, ``length`` long when given, strictly increasing if asked."""

    item: Num
    length: int | None = None
    increasing: bool = False

    def allows(self, value: Any) -> bool:
        if not isinstance(value, list | tuple) or not value:
            return False
        if self.length is not None and len(value) != self.length:
            return False
        if self.increasing and any(
            b <= a for a, b in itertools.pairwise(value) if _number(a) and _number(b)
        ):
            return False
        return all(self.item.allows(v) for v in value)

    def __str__(self) -> str:
        if self.length is not None:
            return f"a list of {self.length} values, each {self.item}"
        return f"a non-empty list of{' increasing' if self.increasing else ''} values, each {self.item}"


@dataclass(frozen=True)
class Match:
    """A string matching ``pattern`` (described by ``text``)."""

    pattern: str
    text: str

    def allows(self, value: Any) -> bool:
        return isinstance(value, str) and re.fullmatch(self.pattern, value) is not None

    def __str__(self) -> str:
        return self.text


Rule = Num | OneOf | ListOf | Match

COUNT = Num(1, integer=True)  # 1, 2, ...
NATURAL = Num(0, integer=True)  # 0, 1, ...
POSITIVE = Num(0, lo_open=True)  # > 0, finite
NONNEG = Num(0)
FRACTION = Num(0, 1, hi_open=True)  # [0, 1)
OPEN_UNIT = Num(0, 1, lo_open=True, hi_open=True)  # (0, 1)
UNIT = Num(0, 1)  # [0, 1]
DECAY = Num(0, 1, lo_open=True)  # (0, 1]: a multiplicative lr decay
BOOL = OneOf((True, False))
AUTO_BOOL = OneOf(("auto", True, False))

# Every numeric, boolean and enumerated key of every group, by its dotted name. A key a group
# option does not have is simply not checked; tests/core/test_validation.py fails when an option
# gains a key that is missing here.
RULES: dict[str, Rule] = {
    # data
    "data.problem": OneOf(tuple(p.value for p in Problem)),
    "data.shape": ListOf(COUNT),
    "data.num_classes": COUNT,
    "data.download": BOOL,
    "data.subset": Num(2, integer=True, optional=True),
    "data.n_samples": Num(10, integer=True),  # a train, a validation and a test split
    "data.n_features": COUNT,
    "data.noise": NONNEG,
    "data.test_split": OPEN_UNIT,  # table, image_folder: the test fraction when no test file
    "data.max_classes": Num(2, integer=True),  # table: integer targets up to this are classes
    "data.target_scaling": OneOf(("standard", "none")),  # regression targets: standardised or not
    "data.size": COUNT,  # image_folder: images are resized to size x size pixels
    "data.channels": OneOf(("auto", 1, 3)),
    # model (mlp, cnn, resnet18)
    "model.width": COUNT,
    "model.depth": NATURAL,  # 0: a linear model
    "model.channels": ListOf(COUNT),
    "model.fc_width": COUNT,
    "model.batch_norm": BOOL,
    "model.dropout": FRACTION,
    # optimizer (every torch.optim choice in conf/optimizer)
    "optimizer.lr": POSITIVE,
    "optimizer.betas": ListOf(FRACTION, length=2),
    "optimizer.eps": POSITIVE,
    "optimizer.weight_decay": NONNEG,
    "optimizer.momentum": FRACTION,
    "optimizer.dampening": UNIT,
    "optimizer.nesterov": BOOL,
    "optimizer.alpha": FRACTION,
    "optimizer.rho": UNIT,
    "optimizer.lr_decay": NONNEG,
    # scheduler
    "scheduler.step_size": COUNT,
    "scheduler.gamma": DECAY,
    "scheduler.milestones": ListOf(COUNT, increasing=True),
    "scheduler.eta_min": NONNEG,
    "scheduler.factor": OPEN_UNIT,
    "scheduler.patience": NATURAL,
    "scheduler.threshold": NONNEG,
    "scheduler.min_lr": NONNEG,
    "scheduler.max_lr_factor": POSITIVE,
    "scheduler.pct_start": OPEN_UNIT,
    "scheduler.anneal_strategy": OneOf(("cos", "linear")),
    "scheduler.warmup_fraction": FRACTION,
    "scheduler.final_lr_factor": UNIT,
    "scheduler.decay": OneOf(("cosine", "linear")),
    # regularization
    "regularization.weight_decay": NONNEG,
    "regularization.l1": NONNEG,
    "regularization.dropout": FRACTION,
    "regularization.label_smoothing": FRACTION,
    "regularization.grad_clip_norm": Num(0, lo_open=True, optional=True),
    "regularization.augment.translate": Num(0, 16, integer=True),  # pixels
    "regularization.augment.hflip": BOOL,
    "regularization.augment.noise_std": NONNEG,
    "regularization.early_stopping.patience": Num(1, integer=True, optional=True),
    "regularization.early_stopping.min_delta": NONNEG,
    # loss
    "loss.problem": OneOf(tuple(p.value for p in Problem)),
    "loss.label_smoothing": FRACTION,
    "loss.beta": NONNEG,
    # trainer
    "trainer.epochs": COUNT,
    "trainer.batch_size": COUNT,
    "trainer.eval_batch_size": COUNT,
    "trainer.precision": OneOf(tuple(p.value for p in Precision)),
    "trainer.device": Match(r"auto|cpu|mps|cuda(:\d+)?", "auto, cpu, mps, cuda or cuda:N"),
    "trainer.seed": Num(0, integer=True),
    "trainer.deterministic": BOOL,
    "trainer.compile": BOOL,
    "trainer.channels_last": AUTO_BOOL,
    "trainer.val_split": OPEN_UNIT,
    "trainer.folds": COUNT,
    "trainer.repeats": COUNT,
    "trainer.data_on_device": AUTO_BOOL,
    "trainer.num_workers": NATURAL,
    "trainer.quiet": BOOL,
    "trainer.save_last": BOOL,
    # compress
    "compress.method": OneOf(tuple(m.value for m in PruneMethod)),
    "compress.amount": OPEN_UNIT,
    "compress.scope": OneOf(("global", "layer")),
    "compress.finetune_epochs": NATURAL,
    "compress.finetune_lr_factor": POSITIVE,
    "compress.quantize": BOOL,
    "compress.latency_batch": COUNT,
    "compress.latency_threads": COUNT,
    # lr_find (`hpt lr-find`)
    "lr_find.start": POSITIVE,
    "lr_find.end": POSITIVE,
    "lr_find.steps": Num(2, integer=True),
    "lr_find.beta": FRACTION,
    "lr_find.diverge": Num(1, lo_open=True),
    # task=gan / task=vae
    "task.g_lr": POSITIVE,
    "task.d_lr": POSITIVE,
    "task.beta1": FRACTION,
    "task.beta2": FRACTION,
    "task.score_samples": Num(2, integer=True),
    "task.grid": COUNT,
    "task.lr": POSITIVE,
    "task.optimizer.lr": POSITIVE,
    "task.g_optimizer.lr": POSITIVE,
    "task.g_optimizer.betas": ListOf(FRACTION, length=2),
    "task.d_optimizer.lr": POSITIVE,
    "task.d_optimizer.betas": ListOf(FRACTION, length=2),
    "task.beta": NONNEG,
    "task.model.arch": OneOf(("conv", "mlp")),
    "task.model.latent_dim": COUNT,
    "task.model.width": COUNT,
    "task.model.depth": COUNT,
    # logger (experiment trackers)
    "logger.tensorboard.flush_secs": POSITIVE,
    "logger.wandb.mode": OneOf((None, "online", "offline", "disabled")),
    # what the run is judged by
    "objective.direction": OneOf(("auto", "maximize", "minimize")),
}


def _show(value: Any) -> str:
    value = getattr(value, "value", value)
    if value is None or isinstance(value, bool):
        return {None: "null", True: "true", False: "false"}[value]
    if isinstance(value, list | tuple):
        return "[" + ",".join(_show(v) for v in value) + "]"
    return str(value) if value != "" else "''"


def problems(cfg: Mapping[str, Any] | DictConfig) -> list[str]:
    """Every setting of ``cfg`` outside its allowed range, as ``key=value: must be ...``."""
    container: dict[str, Any] = {}
    raw: dict[str, Any] = {}
    if isinstance(cfg, DictConfig):  # resolved, without the hydra node (not ours to check)
        for k in cfg:
            node = cfg[k] if k != "hydra" else None
            nested = isinstance(node, DictConfig | ListConfig)
            container[str(k)] = OmegaConf.to_container(node, resolve=True) if nested else node
            raw[str(k)] = OmegaConf.to_container(node, resolve=False) if nested else node
    else:
        container = dict(cfg)
    found = []
    for key, rule in RULES.items():
        value = _lookup(container, key)
        if value is _MISSING or _REFERENCE.fullmatch(str(_lookup(raw, key))):
            continue  # absent, or `${other.key}`: the key it copies is checked in its own right
        if isinstance(rule, OneOf) and isinstance(value, list) and key == "objective.direction":
            bad = [v for v in value if not rule.allows(v)]  # multi-objective: one per metric
        else:
            bad = [] if rule.allows(value) else [value]
        if bad:
            found.append(f"{key}={_show(value)}: must be {rule}")
    start, end = _lookup(container, "lr_find.start"), _lookup(container, "lr_find.end")
    if _number(start) and _number(end) and not end > start:
        found.append(f"lr_find.end={_show(end)}: must be > lr_find.start={_show(start)}")
    return found


_MISSING = object()
_REFERENCE = re.compile(r"\$\{[\w.]+\}")


def _lookup(container: Mapping[str, Any], key: str) -> Any:
    node: Any = container
    for part in key.split("."):
        if not isinstance(node, Mapping) or part not in node:
            return _MISSING
        node = node[part]
    return node


# Keys of the root config (conf/config.yaml) besides the groups Hydra lists as choices
# (a group chosen as a list, logger=[tensorboard,csv], is not listed); +from_sweep: hpt sweep's.
ROOT_KEYS = ("hydra", "resume", "objective", "from_sweep", "logger", "lr_find", "search")


def unknown_keys(cfg: DictConfig) -> list[str]:
    """Keys added (``+trainer.epoch=1``, ``+epochs=3``) where nothing would ever read them."""
    found = []
    choices = OmegaConf.select(cfg, "hydra.runtime.choices") or {}
    groups = {str(g).split("/", 1)[0] for g in choices}
    for group in cfg:
        node = cfg.get(group) if group != "hydra" else None
        if isinstance(node, DictConfig):
            found += _extras(node, str(group))
        if str(group) not in ROOT_KEYS and str(group) not in groups and choices:
            found.append(f"{group!s} is not a setting{_nearest_leaf(cfg, str(group))}")
    return found


def _nearest_leaf(cfg: DictConfig, key: str) -> str:
    """`` (did you mean trainer.epochs?)`` for ``epochs``: the setting whose last part matches."""
    leaves: list[str] = []

    def walk(node: Any, path: str) -> None:
        for k in node:
            if path == "" and str(k) in ("hydra", key):
                continue
            child = node._get_node(k)
            name = f"{path}{k}"
            if isinstance(child, DictConfig):
                walk(child, f"{name}.")
            else:
                leaves.append(name)

    walk(cfg, "")
    tails = {leaf.rsplit(".", 1)[-1]: leaf for leaf in leaves}
    close = difflib.get_close_matches(key, list(tails), n=1, cutoff=0.75)
    return f" (did you mean {tails[close[0]]}?)" if close else " (see hpt train --help)"


def _extras(node: DictConfig, path: str) -> list[str]:
    schema = OmegaConf.get_type(node)
    if schema is None or not dataclasses.is_dataclass(schema):
        return []
    known = [f.name for f in dataclasses.fields(schema)]
    found = []
    for key in map(str, node):
        name = f"{path}.{key}"
        if key not in known:
            close = difflib.get_close_matches(str(key), known, n=1)
            hint = (
                f" (did you mean {path}.{close[0]}?)"
                if close
                else f" (settings: {', '.join(known)})"
            )
            found.append(f"{name} is not a setting of {path}{hint}")
        else:
            child = node._get_node(key)
            if isinstance(child, DictConfig):
                found += _extras(child, name)
    return found


def validate(cfg: DictConfig) -> None:
    """Raise one ``UserError`` naming every bad key, its value and the allowed values."""
    found = unknown_keys(cfg) + problems(cfg)
    if found:
        raise UserError("; ".join(found))


def check_output_dir(key: str, value: Any, *, create: bool) -> None:
    """A run or sweep dir that can be made: not empty, not a file, not past the name limits."""
    text = "" if value is None else str(value)
    if not text.strip():
        raise UserError(f"{key} is empty: give a directory for the run's files")
    path = Path(text).expanduser()
    try:
        if path.exists() and not path.is_dir():
            raise UserError(f"{key}={text}: that is an existing file, not a directory")
        if create:  # Hydra makes it next: making it here turns its OSError into one line
            path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:  # a name too long, a file where a folder should be, no permission
        raise UserError(
            f"{key}={text}: cannot create the directory ({exc.strerror or exc})"
        ) from None


def check_no_runs(key: str, value: Any, *, itself: bool = False) -> None:
    """A new run never writes into an earlier run's directory: ``hpt train -m`` not into a
    folder holding runs, a single run (``itself``) not into a run's own folder."""
    from hpt.rundir import is_run_dir

    path = Path(str(value)).expanduser()
    if itself:
        if is_run_dir(path):
            raise UserError(
                f"{key}={value} already holds a run: a new run never writes into another's "
                f"directory; choose a new one, or continue that run with hpt train --resume {value}"
            )
        return
    runs = sorted(p.name for p in path.iterdir() if is_run_dir(p)) if path.is_dir() else []
    if runs:
        raise UserError(
            f"{key}={value} already holds runs ({', '.join(runs[:3])}{', ...' if len(runs) > 3 else ''}): "
            "a multirun never writes into an earlier one's directory; leave hydra.sweep.dir out "
            "for a fresh one under outputs/multiruns/"
        )


# hpt's built-in data sets describe themselves with these: they are read, never set.
DERIVED_DATA = ("data.shape", "data.num_classes")


def check_derived_overrides(config: DictConfig) -> None:
    """``data.num_classes=5`` on MNIST would be silently ignored: refuse it (a user's own data
    source, ``_target_`` or ``source:``, takes whatever keys it names)."""
    from hpt.datasets import is_user_source

    data = config.get("data")
    if not isinstance(data, DictConfig) or is_user_source(data):
        return
    for override in OmegaConf.select(config, "hydra.overrides.task") or []:
        key = str(override).split("=", 1)[0].lstrip("+~")
        if key in DERIVED_DATA:
            raise UserError(
                f"{override}: {key} is read from data={data.get('name')} itself, not a "
                "setting (an override would be ignored); choose another data= instead"
            )


def check_choices(config: DictConfig) -> None:
    """``data=base_data`` names a schema (registered above), not an option one can run."""
    choices = OmegaConf.select(config, "hydra.runtime.choices") or {}
    for group, choice in choices.items():
        if str(choice).startswith("base_") and not str(group).startswith("hydra"):
            raise UserError(
                f"{group}={choice} is the schema of {group}, not an option: see hpt train --help"
            )


class Rejected(BaseException):
    """A config's ``UserError`` on its way out of a callback.

    Hydra's callback runner turns every ``Exception`` into a warning and carries on; a
    ``BaseException`` passes through it, and ``hpt.app`` reports ``args[0]`` with exit code 2.
    """


class Validate(Callback):
    """Hydra callback (conf/config.yaml ``hydra.callbacks``): check a config before anything runs."""

    def on_run_start(self, config: DictConfig, **kwargs: Any) -> None:
        try:
            check_choices(config)
            check_derived_overrides(config)
            validate(config)
            run_dir = OmegaConf.select(config, "hydra.run.dir")
            check_output_dir("hydra.run.dir", run_dir, create=True)
            if not config.get("resume"):  # only --resume continues a run in its own directory
                check_no_runs("hydra.run.dir", run_dir, itself=True)
        except (UserError, OmegaConfBaseException) as exc:  # `${nope}`: also the user's
            raise Rejected(exc) from None

    def on_multirun_start(self, config: DictConfig, **kwargs: Any) -> None:
        try:
            check_choices(config)
            check_derived_overrides(config)
            validate(config)  # the settings every job shares (hpt train -m checks each job again)
            sweep_dir = OmegaConf.select(config, "hydra.sweep.dir")
            check_output_dir("hydra.sweep.dir", sweep_dir, create=False)
            if str(OmegaConf.select(config, "hydra.sweeper._target_")).endswith("BasicSweeper"):
                check_no_runs("hydra.sweep.dir", sweep_dir)  # hpt train -m (a sweep resumes)
        except (UserError, OmegaConfBaseException) as exc:  # `${nope}`: also the user's
            raise Rejected(exc) from None
