"""The ``hpt`` command. Imports nothing heavy until a subcommand needs it, so ``--help`` is instant."""

from __future__ import annotations

import sys
from typing import Any

HELP = """usage: hpt COMMAND [overrides or options ...]

Tune PyTorch models from the command line.

commands:
  train       run one experiment:      hpt train model=cnn optimizer=sgd optimizer.lr=0.05  [--quiet]
  sweep       run a search (Optuna):   hpt sweep search=tpe hydra.sweeper.n_trials=20
  summarize   report on run dirs:      hpt summarize outputs/sweeps/<sweep> [--top 10]
  lr-find     learning-rate range test: hpt lr-find model=cnn

Overrides use Hydra's grammar (group=option, key=value, +new_key=value).
`hpt train --cfg job` prints the composed config; `hpt train --help` lists the config groups.
Data: set HPT_DATA_DIR to the folder holding MNIST/ (or use data=mnist_tiny).
"""

COMMANDS = ("train", "sweep", "summarize", "lr-find")


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in ("-h", "--help", "help"):
        print(HELP, end="")
        return 0
    if argv[0] in ("-V", "--version"):
        from hpt import __version__

        print(f"hpt {__version__}")
        return 0
    command, rest = argv[0], argv[1:]
    if command == "train":
        return _train(rest)
    if command == "sweep":
        from hpt.sweep.command import sweep_main

        return sweep_main(rest)
    if command == "summarize":
        from hpt.summarize.cli import main as summarize_main

        return summarize_main(rest)
    if command == "lr-find":
        from hpt.lr_find import lr_find_main

        return lr_find_main(rest)
    print(
        f"hpt: error: unknown command {command!r} (choose from {', '.join(COMMANDS)})",
        file=sys.stderr,
    )
    return 2


def _train(argv: list[str]) -> int:
    from hpt.app import run_hydra

    outcomes: list[Any] = []

    def train_task(cfg: Any) -> Any:
        # torch loads only once the config has composed: a typo is reported in a fraction of a second.
        from hpt import train

        outcomes.append(train.task(cfg))  # the task's return value (Hydra's JobReturn.return_value)
        return outcomes[-1]

    train_task.__module__ = "hpt.train"  # Hydra names the job after this module: keep `train`
    if "--quiet" in argv or "-q" in argv:  # plain output, no progress display
        argv = [a for a in argv if a not in ("--quiet", "-q")] + ["trainer.quiet=true"]
    code = run_hydra(train_task, argv, prog="hpt train")
    if code != 0 or not outcomes:
        return code
    outcome = outcomes[-1]
    if outcome.status == "FAIL":
        print(f"hpt train: run failed ({outcome.error_kind}): {outcome.error}", file=sys.stderr)
        print(f"run dir: {outcome.run_dir}")
        return 1
    values = outcome.values or []
    shown = ", ".join(
        f"{o.name}={v:.4f} ({o.direction})" for o, v in zip(outcome.objectives, values)
    )
    print(f"run dir: {outcome.run_dir}")
    print(f"objective: {shown}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
