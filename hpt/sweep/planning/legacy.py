"""hydra-optuna-sweeper 1.1's ``search_space:`` form (name -> type, low, high, step, log,
choices), read as ``params`` search expressions with the old plugin's meaning."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from hpt.errors import UserError, one_line
from hpt.sweep.planning.overrides import format_value


def _legacy_expr(d: Mapping[str, Any]) -> str:
    """One entry of the old ``search_space:`` form as a search expression with the old
    plugin's meaning: ``high`` is included, ``type: int`` is an integer, ``log`` a log scale."""
    kind = str(d.get("type", "float")).lower()
    if kind == "categorical":
        return f"choice({', '.join(format_value(c) for c in d.get('choices') or [])})"
    low, high, step = d.get("low"), d.get("high"), d.get("step")
    if kind == "int":
        low, high = int(low), int(high)  # type: ignore[arg-type]
    elif kind == "float":
        low, high = float(low), float(high)  # type: ignore[arg-type]
    else:
        raise ValueError(f"unknown type {kind!r}")
    if step is not None and not d.get("log"):
        return f"range({low}, {high}, step={int(step) if kind == 'int' else float(step)})"
    expr = f"interval({low}, {high})"
    if kind == "int":
        expr = f"int({expr})"
    return f"tag(log, {expr})" if d.get("log") else expr


def legacy_params(search_space: Any) -> dict[str, str]:
    """hydra-optuna-sweeper 1.1's ``search_space:`` as ``params`` expressions.

    Args:
        search_space: The old form: name -> ``{type, low, high, step, log, choices}``.

    Returns:
        Name -> search expression, with the old plugin's meaning.

    Raises:
        UserError: An entry cannot be read.
    """
    try:
        return {str(name): _legacy_expr(d) for name, d in dict(search_space).items()}
    except Exception as exc:
        raise UserError(
            f"hydra.sweeper.search_space cannot be read ({one_line(exc)}); write it under "
            "hydra.sweeper.params, e.g. x: interval(0, 1), n: int(interval(1, 8)), "
            "opt: choice(sgd, adam)"
        ) from None


def legacy_notice(search_space: Any, params: Any) -> str:
    """The deprecation line for the old form (the old plugin warned the same way).

    Args:
        search_space: ``hydra.sweeper.search_space``.
        params: ``hydra.sweeper.params`` (when set, it wins).

    Returns:
        The line, with the old form rewritten as ``params`` expressions.
    """
    if params is not None:
        return (
            "hpt sweeper: both hydra.sweeper.params and hydra.sweeper.search_space are set; "
            "using params (search_space is ignored)"
        )
    exprs = "; ".join(f"{k}: {v}" for k, v in legacy_params(search_space).items())
    return (
        "hpt sweeper: hydra.sweeper.search_space is deprecated "
        "(as in hydra-optuna-sweeper 1.2); "
        f"write it under hydra.sweeper.params as {exprs}"
    )
