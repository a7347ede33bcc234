"""Shell completion for ``hpt``: its commands, then Hydra's completion of config groups,
options and keys for ``train``, ``sweep`` and ``lr-find``.

Install (bash; zsh after ``autoload -Uz bashcompinit && bashcompinit``)::

    eval "$(hpt -sc install=bash)"

Hydra's bash script asks ``hpt -sc query=bash`` with the line typed so far in ``COMP_LINE``.
Hydra completes the overrides of one app; hpt has several commands, so the query answers the
command word itself and hands the rest of the line to Hydra without the command word.
"""

from __future__ import annotations

import contextlib
import io
import os
import sys
from collections.abc import Callable, Sequence
from typing import Any

HYDRA_COMMANDS = ("train", "sweep", "lr-find")
SHELLS = ("bash", "zsh")  # zsh runs the bash script through bashcompinit


def complete(args: list[str], *, train_task: Callable[[Any], Any], commands: Sequence[str]) -> int:
    """``hpt -sc ACTION=SHELL``: print the install script, or the candidates for ``COMP_LINE``.

    ``commands`` is ``hpt.cli.commands``'s command table (passed in: this module is imported by it).
    """
    action, _, shell = (args[0] if len(args) == 1 else "").partition("=")
    if action not in ("install", "uninstall", "query") or shell not in SHELLS:
        print(
            "hpt: error: use hpt -sc install=bash, uninstall=bash or query=bash (zsh: the same "
            "with zsh)",
            file=sys.stderr,
        )
        return 2
    if action != "query":
        return _script(action, train_task)
    line = os.environ.get("COMP_LINE", "")
    words = line.split()
    typing = bool(words) and not line.endswith(" ")  # the last word is still being typed
    done = words[:-1] if typing else words
    current = words[-1] if typing else ""
    if len(done) <= 1:  # `hpt <TAB>`, `hpt tr<TAB>`
        print(" ".join(c for c in (*commands, "help") if c.startswith(current)))
        return 0
    command = done[1]
    if command == "help":
        print(" ".join(c for c in commands if c.startswith(current)) if len(done) == 2 else "")
        return 0
    if command == "summarize":
        print(" ".join(_summarize_flags(current)) if current.startswith("-") else "")
        return 0  # paths: the shell completes file names (-o default)
    if command not in HYDRA_COMMANDS:
        return 0
    rest = line.split(command, 1)[1]
    added = " +lr_find=default" if command == "lr-find" else ""
    return _hydra_query(f"hpt{added}{rest}", shell, train_task, f"hpt {command}")


def _script(action: str, train_task: Callable[[Any], Any]) -> int:
    from hpt.cli.launch import run_hydra

    # Hydra names the completed program after argv[0]: `python -m hpt` would register `python`.
    argv0, sys.argv[0] = sys.argv[0], "hpt"
    out = io.StringIO()
    try:
        with contextlib.redirect_stdout(out):
            code = run_hydra(train_task, ["-sc", f"{action}=bash"], prog="hpt")
    finally:
        sys.argv[0] = argv0
    print(_command_word_gets_a_space(out.getvalue()), end="")
    return code


# Hydra's script completes with `-o nospace` (a key stops at `=` for its value), so a completed
# command word would run into the next one (`hpt trainmodel=`): give the command its space.
# And a folder completed from the file names (`hpt summarize outp` -> `outputs/`) ends with `/`
# (readline marks folders only for `-o filenames`, which would mangle `key=value` words).
_SPACE = (
    "        if (( COMP_CWORD == 1 && ${#COMPREPLY[@]} == 1 )); then "
    'COMPREPLY=("${COMPREPLY[0]} "); fi  # hpt: a completed command word ends with a space\n'
    '        for i in "${!COMPREPLY[@]}"; do [[ -d "${COMPREPLY[i]}" && "${COMPREPLY[i]}" != */ ]]'
    ' && COMPREPLY[i]="${COMPREPLY[i]}/"; done  # hpt: a folder ends with /\n'
)


def _command_word_gets_a_space(script: str) -> str:
    marker = "COMPREPLY=($( compgen"
    lines = script.splitlines(keepends=True)
    for i, line in enumerate(lines):
        if marker in line:
            lines.insert(i + 1, _SPACE)
            break
    return "".join(lines)


def _hydra_query(line: str, shell: str, train_task: Callable[[Any], Any], prog: str) -> int:
    from hpt.cli.launch import run_hydra

    before = os.environ.get("COMP_LINE")
    os.environ["COMP_LINE"] = line
    out = io.StringIO()
    try:
        with contextlib.redirect_stdout(out):
            code = run_hydra(train_task, ["-sc", f"query={shell}"], prog=prog)
    finally:
        if before is not None:
            os.environ["COMP_LINE"] = before
    # base_<group> are the schemas of hpt.config.check, not options one can choose
    print(" ".join(w for w in out.getvalue().split() if "=base_" not in w))
    return code


def _summarize_flags(prefix: str) -> list[str]:
    from hpt.summarize.arguments import build_parser

    flags = [f for action in build_parser()._actions for f in action.option_strings]
    return sorted(f for f in flags if f.startswith(prefix))
