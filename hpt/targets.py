"""Importing a user's ``_target_`` (``mypkg.MyNet``) with a one-line error when it fails."""

from __future__ import annotations

from typing import Any

from hpt.errors import UserError


def locate(target: str, key: str) -> Any:
    """The object ``target`` names; ``key`` (e.g. ``model._target_``) goes into the error."""
    from hydra._internal.utils import _locate  # hydra.utils.get_object also logs the error

    try:
        return _locate(target)
    except Exception as exc:
        inner: BaseException = exc
        while inner.__cause__ is not None:  # Hydra's wrapper repeats; the root cause says why
            inner = inner.__cause__
        why = str(inner).strip().splitlines()[0] if str(inner).strip() else type(inner).__name__
        raise UserError(f"{key}={target} cannot be imported: {why}") from None
