"""A data config's source: what its ``_target_`` names, the arguments it gets, what it returns.

Every data option names its source by ``_target_``, as models, optimizers and losses are
named: hpt's own (``hpt.data.builtin.mnist``, ``hpt.data.table.load_table``, ...) and yours
alike, with no list of names in between. ``hpt.build.load_source`` instantiates it once per
process for the same config (sweep workers run many trials on the same data).

A source returns a ``Loaded`` (raw train/test tensors, images still uint8, and how to
normalise them) or, the contract of the README's "Your data", ``(train, test)`` sets that
``hpt.data.custom`` reads into one. The normalisation statistics are taken from each run's
training split in ``hpt.data.splits.prepare``, after validation has been carved out, so they
never see validation or test rows.
"""

from __future__ import annotations

import dataclasses
import functools
import inspect
import json
from typing import Any

from hpt.data.custom import from_sets
from hpt.data.loaded import PROBLEMS, Loaded
from hpt.errors import UserError, one_line

__all__ = [
    "RESERVED",
    "arguments",
    "as_loaded",
    "checked_problem",
    "failed",
    "key",
    "option",
    "plain",
    "target",
]

# hpt's own keys: given to a source only when its signature names them (never to **kwargs)
RESERVED = ("_target_", "problem", "subset", "name", "source", "target_scaling")
_VARIADIC = (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD)


@functools.cache
def _schema_keys() -> frozenset[str]:
    """The settings of hpt's data schemas: each source takes the ones it uses."""
    from hpt.config import schema

    classes = (
        schema.DataConfig,
        schema.TableDataConfig,
        schema.ImageFolderDataConfig,
        schema.TorchvisionDataConfig,
    )
    return frozenset(f.name for c in classes for f in dataclasses.fields(c))


def plain(d: Any) -> dict[str, Any]:
    """A data config as plain, resolved data (an OmegaConf node or a mapping)."""
    from omegaconf import OmegaConf

    if OmegaConf.is_config(d):
        out = OmegaConf.to_container(d, resolve=True, enum_to_str=True)
        assert isinstance(out, dict)
        return {str(k): v for k, v in out.items()}
    return dict(d)


def key(d: Any) -> str:
    """What a source's data depends on, as text: the config without ``subset`` (each run
    takes its subset of the loaded rows)."""
    return json.dumps(
        {k: v for k, v in plain(d).items() if k != "subset"}, sort_keys=True, default=str
    )


def option(name: str) -> dict[str, Any]:
    """hpt's data option ``conf/data/<name>.yaml`` as plain data, without its defaults.

    Raises:
        UserError: No such option.
    """
    from omegaconf import OmegaConf

    from hpt.cli.app import config_dir

    path = config_dir() / "data" / f"{name}.yaml"
    if not path.is_file():
        raise UserError(f"data={name}: no such data option in {path.parent}")
    d = plain(OmegaConf.load(path))
    d.pop("defaults", None)
    return d


def checked_problem(d: dict[str, Any]) -> str:
    """``data.problem`` as text, refused when unknown."""
    problem = str(d.get("problem") or "auto")
    if problem not in (*PROBLEMS, "auto"):
        raise UserError(f"data.problem={problem} is unknown: use auto, {', '.join(PROBLEMS)}")
    return problem


def target(d: dict[str, Any]) -> Any:
    """The source ``data._target_`` names, imported; one line when it cannot be."""
    from hpt.targets import locate

    name = str(d.get("_target_"))
    if name in ("???", "None", ""):
        raise UserError("data._target_ is not set: data._target_=pkg.fn names your data function")
    fn = locate(name, "data._target_")
    if not callable(fn):
        raise UserError(f"data._target_={name} is not a function")
    return fn


def arguments(d: dict[str, Any], fn: Any) -> dict[str, Any]:
    """The data config's keys a source gets as keyword arguments.

    Every key its signature names; hpt's ``RESERVED`` keys only then. The other settings of
    hpt's data schemas (``root``, ``n_samples``, ...) go to a source that names them or takes
    ``**kwargs``; any other key (yours: ``+data.n_test=200``) is passed, and the source must
    take it.

    Raises:
        UserError: The source does not take these arguments.
    """
    try:
        params = inspect.signature(fn).parameters
    except (TypeError, ValueError):  # no signature to read (a builtin): let the call say
        return {k: v for k, v in d.items() if k not in RESERVED}
    named = {n for n, p in params.items() if p.kind not in _VARIADIC}
    takes_all = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values())
    out = {
        k: v
        for k, v in d.items()
        if k in named or (k not in RESERVED and (takes_all or k not in _schema_keys()))
    }
    try:
        inspect.signature(fn).bind(**out)
    except TypeError as exc:
        raise UserError(
            f"data._target_={d['_target_']} does not take these arguments: {exc}"
        ) from None
    return out


def failed(name: str, exc: BaseException) -> UserError:
    """A source's own failure as one line naming it (hpt's errors as they are)."""
    if isinstance(exc, UserError):
        return exc
    return UserError(f"data._target_={name} raised {type(exc).__name__}: {one_line(exc)}")


def as_loaded(out: Any, problem: str, name: str) -> Loaded:
    """What a source returned, as its splits: a ``Loaded``, or the sets of the user contract.

    Raises:
        UserError: Neither, or a ``Loaded`` whose problem is not one of ``PROBLEMS``.
    """
    if isinstance(out, Loaded):
        if out.problem not in PROBLEMS:
            raise UserError(
                f"data._target_={name} returned problem {out.problem!r}: use {PROBLEMS}"
            )
        return out
    return from_sets(out, problem, f"data._target_={name}")
