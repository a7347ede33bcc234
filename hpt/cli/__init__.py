"""The launch path: the ``hpt`` command, up to the Hydra run it starts.

Read in this order:

- ``commands``: the command table (``main``, the ``hpt`` entry point) and each command's help.
- ``argv``: the command line before Hydra sees it (``--config-dir``, renamed overrides, ...).
- ``launch``: running Hydra for a command.
- ``exits``: hpt's error contract: what a command raised becomes one line and an exit code.
- ``app``: hpt's Hydra app: its config folders, the user's layered over them, its help.
- ``hydra_internals``: every use of Hydra's private API, behind small named functions.
- ``completion``: shell completion for ``hpt``.
- ``dashboard``, ``storage_proxy``: the two commands that start a server.

Only ``main`` is named here (``hpt = "hpt.cli:main"``, an installed script's import); it imports
nothing heavy, so ``hpt --help`` stays instant.
"""

from hpt.cli.commands import main

__all__ = ["main"]
