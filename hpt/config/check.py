"""Checking a composed config before anything runs: ``validate`` and the ``Validate`` callback.

A config is checked once, right after composition (``Validate``, a Hydra callback, before the
run dir exists; and for each job of `hpt train -m`), so a bad value is one line and exit code 2,
never a run: every setting against its range (``hpt.config.rules.RULES``), every key against its
group's schema (``hpt.config.schema``), and the run or sweep dir against earlier runs.

The schemas live in ``hpt.config.schema``, the ranges in ``hpt.config.ranges`` and the rules in
``hpt.config.rules``; import their names from there.
"""

from __future__ import annotations

import dataclasses
import difflib
from pathlib import Path
from typing import Any

from hydra.experimental.callback import Callback
from omegaconf import DictConfig, OmegaConf
from omegaconf.errors import OmegaConfBaseException

from hpt.config.rules import problems
from hpt.config.schema import DataConfig
from hpt.errors import UserError

# Keys of the root config (conf/config.yaml) besides the groups Hydra lists as choices
# (a group chosen as a list, logger=[tensorboard,csv], is not listed); +from_sweep: hpt sweep's.
ROOT_KEYS = ("hydra", "resume", "objective", "from_sweep", "logger", "lr_find", "search")


def unknown_keys(cfg: DictConfig) -> list[str]:
    """Keys added (``+trainer.epoch=1``, ``+epochs=3``) where nothing would ever read them.

    Args:
        cfg: The composed config.

    Returns:
        One message per such key, with the nearest setting when there is one.
    """
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
    """Check a composed config: its keys against the schemas, its values against ``RULES``.

    Args:
        cfg: The composed config.

    Raises:
        UserError: One line naming every bad key, its value and the allowed values.
    """
    found = unknown_keys(cfg) + problems(cfg)
    if found:
        raise UserError("; ".join(found))


def check_output_dir(key: str, value: Any, *, create: bool) -> None:
    """A run or sweep dir that can be made: not empty, not a file, not past the name limits.

    Args:
        key: The setting, for the message (``hydra.run.dir``).
        value: Its value.
        create: Make the directory now (Hydra would make it next).

    Raises:
        UserError: The directory cannot be had.
    """
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
    """A new run never writes into an earlier run's directory.

    Args:
        key: The setting, for the message (``hydra.run.dir`` or ``hydra.sweep.dir``).
        value: Its value.
        itself: A single run: refuse a run's own folder (else, for ``hpt train -m``, refuse
            a folder holding runs).

    Raises:
        UserError: The directory holds a run.
    """
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
        shown = ", ".join(runs[:3]) + (", ..." if len(runs) > 3 else "")
        raise UserError(
            f"{key}={value} already holds runs ({shown}): "
            "a multirun never writes into an earlier one's directory; leave hydra.sweep.dir out "
            "for a fresh one under outputs/multiruns/"
        )


# hpt's built-in data sets describe themselves with these: they are read, never set.
DERIVED_DATA = ("data.shape", "data.num_classes")


def check_derived_overrides(config: DictConfig) -> None:
    """Refuse an override of what a built-in data set says of itself (``DERIVED_DATA``).

    ``data.num_classes=5`` on MNIST would be silently ignored. A data config on another
    schema than ``DataConfig`` (a table, image folder, your own function) has no such keys,
    or passes them to its source.

    Args:
        config: The composed config, with its ``hydra`` node.

    Raises:
        UserError: Such an override.
    """
    data = config.get("data")
    if not isinstance(data, DictConfig) or OmegaConf.get_type(data) is not DataConfig:
        return
    for override in OmegaConf.select(config, "hydra.overrides.task") or []:
        key = str(override).split("=", 1)[0].lstrip("+~")
        if key in DERIVED_DATA:
            raise UserError(
                f"{override}: {key} is read from data={data.get('name')} itself, not a "
                "setting (an override would be ignored); choose another data= instead"
            )


def check_choices(config: DictConfig) -> None:
    """Refuse a schema chosen as an option.

    ``data=base_data`` names a schema (``hpt.config.schema.register``), not an option one can run.

    Args:
        config: The composed config, with its ``hydra`` node.

    Raises:
        UserError: Such a choice.
    """
    choices = OmegaConf.select(config, "hydra.runtime.choices") or {}
    for group, choice in choices.items():
        if str(choice).startswith("base_") and not str(group).startswith("hydra"):
            raise UserError(
                f"{group}={choice} is the schema of {group}, not an option: see hpt train --help"
            )


class Rejected(BaseException):
    """A config's ``UserError`` on its way out of a callback.

    Hydra's callback runner turns every ``Exception`` into a warning and carries on; a
    ``BaseException`` passes through it, and ``hpt.cli.app`` reports ``args[0]`` with exit code 2.
    """


class Validate(Callback):
    """Hydra callback (conf/config.yaml ``hydra.callbacks``): check a config before it runs."""

    def on_run_start(self, config: DictConfig, **kwargs: Any) -> None:
        """A single run: the settings, then the run dir (made now; not another run's)."""
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
        """A multirun: the settings every job shares, then the sweep dir."""
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
