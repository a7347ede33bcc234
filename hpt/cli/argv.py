"""The command line before Hydra sees it: ``--config-dir``, renamed overrides, the folder of a
multirun, and the key a misspelled override meant.

``hpt.cli.launch`` runs Hydra with these.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator
from contextvars import ContextVar
from pathlib import Path

from hpt.errors import UserError

# The --config-dir of the command running in this context (hpt.cli.app.user_config_dirs layers
# it first). A context variable set for the duration of run_hydra or hpt.api.compose, rather
# than a module global another module writes to.
_CONFIG_DIR_FLAG: ContextVar[str | None] = ContextVar("hpt_config_dir_flag", default=None)


def config_dir_flag() -> str | None:
    """The ``--config-dir`` of the command running in this context.

    Returns:
        The folder as given (to ``run_hydra`` or ``hpt.api.compose``), or None when none was.
    """
    return _CONFIG_DIR_FLAG.get()


@contextlib.contextmanager
def using_config_dir(path: str | None) -> Iterator[None]:
    """Make ``path`` this context's ``--config-dir`` for the duration of a ``with`` block.

    Args:
        path: A folder of config groups to layer over hpt's, or None for none.

    Yields:
        Nothing; the value from before the block is back when it ends.
    """
    token = _CONFIG_DIR_FLAG.set(path)
    try:
        yield
    finally:
        _CONFIG_DIR_FLAG.reset(token)


def split_config_dir(argv: list[str]) -> tuple[str | None, list[str]]:
    """Take ``--config-dir DIR`` / ``-cd DIR`` out of argv: hpt layers the folder itself.

    Hydra would put the folder under hpt's own groups; ``hpt.cli.app.user_config_dirs`` puts it
    over them.

    Args:
        argv: The command's arguments.

    Returns:
        The folder (the last one given; None when none was) and argv without the flag.
    """
    flag: str | None = None
    out: list[str] = []
    i = 0
    while i < len(argv):
        arg = argv[i]
        if arg in ("--config-dir", "-cd") and i + 1 < len(argv):
            flag, i = argv[i + 1], i + 2
            continue
        if arg.startswith("--config-dir="):
            flag = arg.split("=", 1)[1]
        else:
            out.append(arg)
        i += 1
    return flag, out


def importable_cwd() -> None:
    """Let ``_target_: mypkg.MyNet`` resolve from the current directory, as ``python -m`` would.

    Appended, not prepended, so a local file cannot shadow an installed package.
    """
    cwd = os.getcwd()
    if cwd not in sys.path and "" not in sys.path:
        sys.path.append(cwd)


def renamed_overrides(argv: list[str], prog: str) -> list[str]:
    """``data.task=X`` (the old name) -> ``data.problem=X``, with one deprecation line.

    Args:
        argv: The command's overrides.
        prog: The command's name in the note (``hpt train``).

    Returns:
        The overrides, with the old names renamed.

    Raises:
        UserError: For ``model=null``, which Hydra would report without a hint.
    """
    out = []
    for arg in argv:
        key, sep, value = arg.partition("=")
        if key == "model" and value in ("null", "None", ""):  # Hydra: a ValueError, no hint
            raise UserError(
                "model=null: choose a model (model=mlp, cnn, resnet18, one of your "
                "conf/model/*.yaml, or model=custom model._target_=pkg.Net)"
            )
        if sep and key.lstrip("+~") == "data.task":
            print(
                f"{prog}: note: data.task is deprecated, use data.problem={value}", file=sys.stderr
            )
            arg = f"++data.problem={value}"  # ++: also for a user's data config without the key
        out.append(arg)
    return out


def did_you_mean(exc: BaseException) -> str | None:
    """The key a misspelled override probably meant, instead of Hydra's hint to add it with ``+``.

    Args:
        exc: Hydra's error for an override like ``trainer.epoch=3`` (a key that is not there
            but is close to one that is).

    Returns:
        One line naming the close key, or None when the error is another or no key is close.
    """
    import difflib
    import re

    from omegaconf import DictConfig
    from omegaconf.errors import OmegaConfBaseException

    option = unknown_option(str(exc)) or unknown_function(str(exc))
    if option:
        return option
    found = re.search(r"Could not override '([^']+)'", str(exc))
    cause = exc.__cause__
    if found is None or not isinstance(cause, OmegaConfBaseException):
        return None
    key, missing, path = found.group(1), str(cause.key), str(cause.full_key or "")
    parent = getattr(cause, "parent_node", None)
    if not isinstance(parent, DictConfig) or not key.startswith(path):
        return None
    close = difflib.get_close_matches(missing, [str(k) for k in parent], n=1)
    if not close:
        return None
    head = path[: len(path) - len(missing)]  # `trainer.` of trainer.epoch
    return f"{key} is not a setting: did you mean {head}{close[0]}{key[len(path) :]}?"


def unknown_option(message: str) -> str | None:
    """Hydra's "Could not find 'data/tabel'" as one line: the options a user can type
    (not hpt's internal ``base_*`` schemas, nor the config search path), the closest first.

    Args:
        message: Hydra's error text.

    Returns:
        The line, or None for another error.
    """
    import difflib
    import re

    found = re.search(r"Could not find '([^'/]+)/([^']+)'\s+Available options in '[^']+':", message)
    if found is None:
        return None
    group, name = found.groups()
    listed = message[found.end() :].split("Config search path:")[0].split()
    options = [o for o in listed if not o.startswith("base_")]
    close = difflib.get_close_matches(name, options, n=1)
    hint = f"did you mean {group}={close[0]}? " if close else ""
    return f"{group}={name}: no option {group}/{name}; {hint}options: {', '.join(options)}"


# Other libraries' distributions, as Hydra's override grammar writes them
# (hpt.sweep.planning.space).
_GRAMMAR = {
    "loguniform": "tag(log, interval({}))",
    "log_uniform": "tag(log, interval({}))",
    "uniform": "interval({})",
    "randint": "int(interval({}))",
    "intuniform": "int(interval({}))",
    "categorical": "choice({})",
    "choices": "choice({})",
    "oneof": "choice({})",
}


def unknown_function(message: str) -> str | None:
    """Hydra's "Unknown function 'loguniform'" in a search expression as one line with the
    expression in Hydra's grammar (``tag(log, interval(a, b))``).

    Args:
        message: Hydra's (or hpt's search-space) error text.

    Returns:
        The line, or None for another error or a function with no counterpart.
    """
    import re

    found = re.search(r"Unknown function '(\w+)'", message)
    if found is None or found.group(1).lower() not in _GRAMMAR:
        return None
    name = found.group(1)
    used = re.search(rf"'([^'=]+)=\s*{name}\((.*?)\)'", message)
    key, args = (used.group(1), used.group(2)) if used else ("KEY", "a, b")
    written = _GRAMMAR[name.lower()].format(", ".join(a.strip() for a in args.split(",")))
    return (
        f"{key}={name}(...): Hydra's search grammar has no {name}(); write "
        f"{key}='{written}' (hpt sweep --help lists the grammar)"
    )


# Flags people type from other tools, and the override each one is in hpt.
_FLAG_KEYS = {
    "epochs": "trainer.epochs",
    "lr": "optimizer.lr",
    "learning_rate": "optimizer.lr",
    "batch_size": "trainer.batch_size",
    "seed": "trainer.seed",
    "device": "trainer.device",
    "weight_decay": "regularization.weight_decay",
    "dropout": "regularization.dropout",
    "n_trials": "hydra.sweeper.n_trials",
    "trials": "hydra.sweeper.n_trials",
    "n_jobs": "hydra.sweeper.n_jobs",
    "data": "data",
    "model": "model",
    "optimizer": "optimizer",
}


def flag_hint(argv: list[str], prog: str) -> str | None:
    """For ``--epochs 3``: settings are overrides, ``trainer.epochs=3``.

    Args:
        argv: The command's arguments.
        prog: The command (``hpt train``), for its ``--help``.

    Returns:
        The pointer for the first ``--flag`` that is a setting's name, else None.
    """
    for i, arg in enumerate(argv):
        name, eq, value = arg[2:].partition("=")
        key = _FLAG_KEYS.get(name.replace("-", "_")) if arg.startswith("--") else None
        if key is None:
            continue
        if not eq and i + 1 < len(argv) and "=" not in argv[i + 1]:
            value = argv[i + 1] if not argv[i + 1].startswith("-") else ""
        return f"settings are overrides: write {key}={value or 'VALUE'} ({prog} --help lists them)"
    return None


def multirun_dir(root: str = "outputs/multiruns") -> str:
    """A fresh directory for one ``hpt train -m`` (as Hydra's ``multirun/<date>/<time>``).

    Two multiruns never share one, so none overwrites or appends to another's job dirs.

    Args:
        root: The folder the dated directories go under.

    Returns:
        ``root/<date>/<time with microseconds>``, a path that does not exist yet.
    """
    import datetime as dt

    while True:
        now = dt.datetime.now()
        path = Path(root) / now.strftime("%Y-%m-%d") / now.strftime("%H-%M-%S-%f")
        if not path.exists():
            return str(path)
