"""``hpt sweep [overrides]``: Hydra's multirun with hpt's sweeper selected."""

from __future__ import annotations


def sweep_main(argv: list[str]) -> int:
    from hpt import train
    from hpt.app import run_hydra

    # The user's own hydra/sweeper choice wins; otherwise ours.
    has_sweeper = any(a.split("=", 1)[0].lstrip("+~") == "hydra/sweeper" for a in argv)
    args = argv if has_sweeper else ["hydra/sweeper=hpt", *argv]
    return run_hydra(train.task, args, prog="hpt sweep", multirun=True)
