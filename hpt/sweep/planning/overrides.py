"""Params as Hydra override text: each value written so Hydra's grammar reads it back as the
same value, and group choices before the keys under them."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def format_value(value: Any) -> str:
    """A value as Hydra override text (strings quoted when the grammar needs it).

    Args:
        value: The value.

    Returns:
        The text.
    """
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, int):
        return str(value)
    text = str(value)
    if text.replace("_", "").replace("-", "").replace(".", "").replace("/", "").isalnum():
        return text
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


def to_overrides(params: Mapping[str, Any]) -> list[str]:
    """Params as overrides, group choices first.

    So ``optimizer=sgd`` is applied before ``optimizer.momentum=0.9``.

    Args:
        params: Param -> value.

    Returns:
        The ``key=value`` overrides.
    """
    items = sorted(params.items(), key=lambda kv: kv[0].count("."))
    return [f"{k}={format_value(v)}" for k, v in items]
