"""Importing a user's ``_target_`` (``mypkg.MyNet``) with a one-line error when it fails."""

from __future__ import annotations

from typing import Any

from hpt.errors import UserError


def locate(target: str, key: str) -> Any:
    """The object ``target`` names; ``key`` (e.g. ``model._target_``) goes into the error."""
    from hpt.cli.hydra_internals import locate as hydra_locate  # get_object also logs the error

    try:
        return hydra_locate(target)
    except Exception as exc:
        missing = _missing_attribute(target)
        if missing:
            raise UserError(f"{key}={target} cannot be imported: {missing}") from None
        inner: BaseException = exc
        while inner.__cause__ is not None:  # Hydra's wrapper repeats; the root cause says why
            inner = inner.__cause__
        why = str(inner).strip().splitlines()[0] if str(inner).strip() else type(inner).__name__
        raise UserError(f"{key}={target} cannot be imported: {why}") from None


def _missing_attribute(target: str) -> str | None:
    """``no class Nett in mypkg.net (did you mean Net?)`` when the module imports but lacks
    the name (Hydra's own message then blames the module for not being a package)."""
    import difflib
    import importlib

    module, _, name = target.rpartition(".")
    if not module:
        return None
    try:
        mod = importlib.import_module(module)
    except Exception:
        return None  # the module itself is the problem: Hydra's message says why
    if hasattr(mod, name):
        return None
    public = [n for n in dir(mod) if not n.startswith("_")]
    close = difflib.get_close_matches(name, public, n=1)
    return f"no {name} in {module}" + (f" (did you mean {close[0]}?)" if close else "")
