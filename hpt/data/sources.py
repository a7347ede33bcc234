"""The user's data: tables, image folders, torchvision datasets and their own functions.

Each source loads once per process (sweep workers run many trials on the same data) into a
``Loaded``: raw train/test tensors (images stay uint8) plus how to normalise them. The
normalisation statistics are taken from the training split of each run in
``hpt.data.splits.normalise``, after validation has been carved out, so they never see
validation or test rows.

A data config picks its source with ``source:`` (``table``, ``image_folder``,
``torchvision``) or names a user function with ``_target_``; hpt's built-in sets
(mnist, mnist_tiny, binary, regression) have neither and are chosen by ``name``.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Mapping
from typing import Any

from hpt.data.loaded import PROBLEMS, Loaded
from hpt.errors import UserError

SOURCES = ("table", "image_folder", "torchvision")
__all__ = ["PROBLEMS", "SOURCES", "Loaded", "infer_problem", "is_user_source", "load"]


def is_user_source(d: Mapping[str, Any]) -> bool:
    """Whether a data config is one of this package's sources (not an hpt built-in set).

    Args:
        d: The data config.

    Returns:
        True when it has ``_target_`` or a known ``source``.
    """
    return "_target_" in d or d.get("source") in SOURCES


def _plain(d: Any) -> dict[str, Any]:
    from omegaconf import OmegaConf

    if OmegaConf.is_config(d):
        out = OmegaConf.to_container(d, resolve=True, enum_to_str=True)
        assert isinstance(out, dict)
        return {str(k): v for k, v in out.items()}
    return dict(d)


def load(d: Any) -> Loaded:
    """The source a data config describes, loaded once per process for the same config.

    Args:
        d: The data config (an OmegaConf node or a mapping); ``subset`` is not part of
            what is loaded (each run applies it).

    Returns:
        The source's splits before normalisation.

    Raises:
        UserError: An unknown ``problem`` or ``source``, or the source's own errors.
    """
    plain = _plain(d)
    # subset is applied per run on the loaded tensors: not part of what is loaded
    key = json.dumps({k: v for k, v in plain.items() if k != "subset"}, sort_keys=True, default=str)
    return _load_cached(key)


@functools.lru_cache(maxsize=2)
def _load_cached(key: str) -> Loaded:
    d = json.loads(key)
    problem = str(d.get("problem") or "auto")
    if problem not in (*PROBLEMS, "auto"):
        raise UserError(f"data.problem={problem} is unknown: use auto, {', '.join(PROBLEMS)}")
    if "_target_" in d:
        from hpt.data.custom import load_custom

        return load_custom(d, problem)
    source = d.get("source")
    if source == "table":
        from hpt.data.table import load_table

        return load_table(d, problem)
    if source == "image_folder":
        from hpt.data.image_folder import load_image_folder

        return load_image_folder(d, problem)
    if source == "torchvision":
        from hpt.data.tv import load_torchvision

        return load_torchvision(d, problem)
    raise UserError(f"data.source={source!r} is unknown: use {', '.join(SOURCES)} or data._target_")


def infer_problem(d: Any) -> str:
    """``data.problem``, resolved from the data itself when it says ``auto``.

    Args:
        d: The data config.

    Returns:
        ``classification``, ``binary`` or ``regression`` (a built-in set's ``auto`` stays
        as it is).
    """
    plain = _plain(d)
    problem = str(plain.get("problem") or "auto")
    if problem != "auto" or not is_user_source(plain):
        return problem
    return load(plain).problem
