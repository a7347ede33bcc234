"""The allowed range of every setting: ``RULES`` and ``problems``, which checks a config against it.

Types alone let nonsense through (``model.width=0``, ``regularization.dropout=-0.1``,
``optimizer.lr=inf``): ``RULES`` holds the allowed range of every numeric, boolean and
enumerated key of every group, by its dotted name. ``hpt.config.validate`` runs the check once,
right after composition.
"""

from __future__ import annotations

import itertools
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from omegaconf import DictConfig, ListConfig, OmegaConf

from hpt.schema import Precision, Problem, PruneMethod

INT_MAX = 2**31 - 1


def is_number(value: Any) -> bool:
    """An int or a float, not a bool (``True`` is an int to Python, not a number to a user)."""
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
    text: str = ""  # how the message says the range, where the default words would not fit

    @property
    def top(self) -> float:
        """An integer setting is a C int downstream: 2**31-1 at most, whatever ``hi`` says."""
        return min(self.hi, INT_MAX) if self.integer else self.hi

    def allows(self, value: Any) -> bool:
        """Whether ``value`` is within the range (None: only when ``optional``)."""
        if value is None:
            return self.optional
        if (
            not is_number(value)
            or not math.isfinite(value)
            or (self.integer and not isinstance(value, int))
        ):
            return False
        above = value > self.lo if self.lo_open else value >= self.lo
        below = value < self.top if self.hi_open else value <= self.top
        return above and below

    def __str__(self) -> str:
        if self.text:
            return self.text
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
        """Whether ``value`` (or an Enum member's value) is one of the choices, of its type."""
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
        """Whether ``value`` is a non-empty list (of ``length``) whose items ``item`` allows."""
        if not isinstance(value, list | tuple) or not value:
            return False
        if self.length is not None and len(value) != self.length:
            return False
        if self.increasing and any(
            b <= a for a, b in itertools.pairwise(value) if is_number(a) and is_number(b)
        ):
            return False
        return all(self.item.allows(v) for v in value)

    def __str__(self) -> str:
        if self.length is not None:
            return f"a list of {self.length} values, each {self.item}"
        increasing = " increasing" if self.increasing else ""
        return f"a non-empty list of{increasing} values, each {self.item}"


@dataclass(frozen=True)
class Match:
    """A string matching ``pattern`` (described by ``text``)."""

    pattern: str
    text: str

    def allows(self, value: Any) -> bool:
        """Whether ``value`` is a string matching the whole pattern."""
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
# option does not have is simply not checked; tests/core/test_rules.py fails when an option
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


def field_problems(schema: type, values: Mapping[str, Any], prefix: str) -> list[str]:
    """The fields of a dataclass schema that carry a rule (``field(metadata={"rule": ...})``),
    checked against ``values``: the rule is stated once, beside the field it governs.

    Args:
        schema: A dataclass (``hpt.sweep.options.HptSweeperConf``, a sampler's or pruner's).
        values: The settings as plain data; absent keys are not checked.
        prefix: The dotted path of ``values`` in the config, for the message.

    Returns:
        One ``prefix.key=value must be ...`` message per bad setting, in field order.
    """
    import dataclasses

    found = []
    for f in dataclasses.fields(schema):
        rule = f.metadata.get("rule")
        if rule is None or f.name not in values or rule.allows(values[f.name]):
            continue
        value = values[f.name]
        shown = f"{value:g}" if is_number(value) else repr(value)
        found.append(f"{prefix}.{f.name}={shown} must be {rule}")
    return found


def ruled(default: Any, rule: Rule) -> Any:
    """A dataclass field with ``default`` and its allowed range (read by ``field_problems``)."""
    from dataclasses import field

    return field(default=default, metadata={"rule": rule})


def _show(value: Any) -> str:
    value = getattr(value, "value", value)
    if value is None or isinstance(value, bool):
        return {None: "null", True: "true", False: "false"}[value]
    if isinstance(value, list | tuple):
        return "[" + ",".join(_show(v) for v in value) + "]"
    return str(value) if value != "" else "''"


def problems(cfg: Mapping[str, Any] | DictConfig) -> list[str]:
    """Every setting of ``cfg`` outside its allowed range.

    Args:
        cfg: A composed config (its ``hydra`` node is not checked), or a plain mapping.

    Returns:
        One ``key=value: must be ...`` message per bad setting; ``${other.key}`` references
        are left to the key they copy.
    """
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
    if is_number(start) and is_number(end) and not end > start:
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
