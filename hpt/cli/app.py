"""hpt's Hydra app: where its configs are, the user's folders layered over them, its help.

Running Hydra for a command, with hpt's error contract (one line and exit code 2 for bad
input), is ``hpt.cli.launch``.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from hpt.cli import hydra_internals
from hpt.cli.argv import config_dir_flag
from hpt.cli.launch import HPT_CONF
from hpt.errors import UserError


def config_dir() -> Path:
    """The folder of hpt's own config groups.

    Returns:
        ``conf/`` of a checkout, ``hpt/conf`` of an installed wheel (resolved).
    """
    from importlib.resources import files

    return Path(str(files("hpt.conf"))).resolve()


def user_config_dirs() -> list[Path]:
    """Config folders layered over hpt's, first wins.

    ``--config-dir``, ``HPT_CONFIG_DIR`` (``os.pathsep``-separated), then ``./conf`` when it
    exists. Their group options (``model/mynet.yaml``, ``data/``, ``search/``...) are
    selectable next to hpt's and shadow hpt's of the same name; hpt's root ``config.yaml``
    stays the root.

    Returns:
        The folders (resolved, each once), in the order they are layered.

    Raises:
        UserError: A folder given by ``--config-dir`` or ``HPT_CONFIG_DIR`` is missing or has
            a root ``config.yaml``.
    """
    flag = config_dir_flag()
    named = [("--config-dir", flag)] if flag else []
    named += [("HPT_CONFIG_DIR", p) for p in os.environ.get("HPT_CONFIG_DIR", "").split(os.pathsep)]
    dirs: list[Path] = []
    seen = {config_dir()}
    for source, raw in named:
        if not raw:
            continue
        path = Path(raw).expanduser().resolve()
        if not path.is_dir():
            raise UserError(f"{source}={raw}: no such directory")
        if (path / "config.yaml").exists():
            raise UserError(
                f"{source}={raw} has a config.yaml: hpt layers only config groups (model/, data/, "
                "search/ ...) over its own; rename it or point at a folder of groups"
            )
        if path not in seen:
            seen.add(path)
            dirs.append(path)
    cwd_conf = Path.cwd() / "conf"
    if cwd_conf.is_dir() and cwd_conf.resolve() not in seen:
        if (cwd_conf / "config.yaml").exists():  # another Hydra app's root: not ours to layer
            print(
                "hpt: note: ./conf has a config.yaml, so it is not layered over hpt's configs",
                file=sys.stderr,
            )
        else:
            dirs.append(cwd_conf.resolve())
    return dirs


def is_hpt_main(path: str) -> bool:
    """Whether a search-path entry is hpt's own config folder.

    Args:
        path: The entry's path (``pkg://hpt.conf``, ``file://...`` or a plain folder).

    Returns:
        True for hpt's config folder, however it is written.
    """
    if path == HPT_CONF:
        return True
    local = path[len("file://") :] if path.startswith("file://") else path
    return "://" not in local and Path(local).resolve() == config_dir()


def command_help(prog: str, about: str, skip_groups: tuple[str, ...]) -> str:
    """``hpt train --help``: what the command does, then its config groups and their options.

    Args:
        prog: The command (``hpt train``).
        about: Its usage and description.
        skip_groups: The config groups that do not apply to it.

    Returns:
        The help text, ending with a newline.
    """
    from omegaconf import DictConfig, OmegaConf

    loader = hydra_internals.config_loader(HPT_CONF)
    defaults: dict[str, str] = {}
    root = OmegaConf.load(config_dir() / "config.yaml")
    for entry in root.get("defaults", []) if isinstance(root, DictConfig) else []:
        if isinstance(entry, DictConfig):
            for group, choice in dict(entry).items():
                defaults[str(group)] = str(choice)
    lines = [about.rstrip(), "", "config groups (group=option; * marks the default):"]
    for group in sorted(loader.list_groups("")):
        if group == "hydra" or group in skip_groups:
            continue
        names = [o for o in loader.get_group_options(group) if not o.startswith("base_")]
        shown = [f"{o}*" if defaults.get(group) == o else o for o in names]
        lines.append(f"  {group + ':':16}{', '.join(shown)}")
    lines += [
        "",
        f"Any key can be overridden: `{prog} --cfg job` prints them all (trainer.epochs=10);",
        "+key=value adds a key. Flags: --cfg job|hydra|all, --info, -m/--multirun, --quiet,",
        '--config-dir DIR, --version. Shell completion: eval "$(hpt -sc install=bash)"',
        "",
    ]
    return "\n".join(lines)


def versions() -> str:
    """``hpt --version``: hpt's version and those of the libraries it runs on (no imports).

    Returns:
        One line: ``hpt X (torch Y, optuna Z, hydra W)``.
    """
    from importlib.metadata import PackageNotFoundError, version

    from hpt import __version__

    parts = [f"hpt {__version__}"]
    for name in ("torch", "optuna", "hydra-core"):
        try:
            parts.append(f"{name.removesuffix('-core')} {version(name)}")
        except PackageNotFoundError:
            parts.append(f"{name} not installed")
    return parts[0] + " (" + ", ".join(parts[1:]) + ")"
