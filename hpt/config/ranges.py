"""hpt's one language for allowed ranges: ``Num``, ``OneOf``, ``ListOf`` and ``Match``.

A rule is stated once: beside its schema field where the setting has one (``ruled``, read by
``field_problems`` and ``schema_rules``: ``hpt.config.schema``'s trainer, regularization and
compress, the sweeper's ``hpt.sweep.planning.options``), else in ``hpt.config.rules.RULES`` by its
dotted name (groups whose options are a ``_target_``'s own arguments: model, optimizer, scheduler,
...).
"""

from __future__ import annotations

import dataclasses
import itertools
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

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
        names = [
            "null" if c is None else str(c).lower() if isinstance(c, bool) else str(c)
            for c in self.choices
        ]
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


@dataclass(frozen=True)
class AutoOr:
    """``auto`` (hpt decides from the data) or a value ``inner`` allows."""

    inner: Num

    def allows(self, value: Any) -> bool:
        """Whether ``value`` is ``auto`` or within ``inner``."""
        return value == "auto" or self.inner.allows(value)

    def __str__(self) -> str:
        return f"auto or {self.inner}"


Rule = Num | OneOf | ListOf | Match | AutoOr

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
AUTO_COUNT = AutoOr(COUNT)


def field_problems(schema: type, values: Mapping[str, Any], prefix: str) -> list[str]:
    """The fields of a dataclass schema that carry a rule (``field(metadata={"rule": ...})``),
    checked against ``values``: the rule is stated once, beside the field it governs.

    Args:
        schema: A dataclass (``hpt.sweep.planning.options.HptSweeperConf``, a sampler's or
            pruner's).
        values: The settings as plain data; absent keys are not checked.
        prefix: The dotted path of ``values`` in the config, for the message.

    Returns:
        One ``prefix.key=value must be ...`` message per bad setting, in field order.
    """
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
    return dataclasses.field(default=default, metadata={"rule": rule})


def schema_rules(schema: type, prefix: str) -> dict[str, Rule]:
    """The rules stated beside a dataclass schema's fields, nested schemas included.

    Args:
        schema: A dataclass (``hpt.config.schema.TrainerConfig``, ...).
        prefix: Its dotted path in the config (``trainer``).

    Returns:
        ``prefix.field`` -> rule, in field order.
    """
    out: dict[str, Rule] = {}
    for f in dataclasses.fields(schema):
        if "rule" in f.metadata:
            out[f"{prefix}.{f.name}"] = f.metadata["rule"]
        elif f.default_factory is not dataclasses.MISSING:
            nested = f.default_factory()
            if dataclasses.is_dataclass(nested):
                out.update(schema_rules(type(nested), f"{prefix}.{f.name}"))
    return out
