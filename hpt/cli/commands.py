"""The ``hpt`` command. Imports nothing heavy until a subcommand needs it, so ``--help`` is
instant."""

from __future__ import annotations

import os
import sys
from typing import Any

HELP = """usage: hpt COMMAND [overrides or options ...]

Tune PyTorch models from the command line.

commands:
  train       run one experiment:      hpt train model=cnn optimizer=sgd optimizer.lr=0.05 [--quiet]
              continue a killed run:   hpt train --resume outputs/runs/<run>
  sweep       run a search (Optuna):   hpt sweep search=tpe hydra.sweeper.n_trials=20
  summarize   report on run dirs:      hpt summarize outputs/sweeps/<sweep> [--top 10]
  lr-find     learning-rate range test: hpt lr-find model=cnn
  dashboard   optuna-dashboard:        hpt dashboard outputs/sweeps/<sweep> [--port 8080]
  storage-proxy  gRPC proxy for many workers: hpt storage-proxy postgresql://... [--port 13000]
  predict     use a run's model:       hpt predict outputs/runs/<run> new.csv -o predictions.csv
  eval        its test metrics again:  hpt eval outputs/runs/<run> [data.path=new.csv] [--json F]
  export      a file without hpt:      hpt export outputs/runs/<run> -o model.pt [--format onnx]

Overrides use Hydra's grammar (group=option, key=value, +new_key=value).
`hpt train --cfg job` prints the composed config; `hpt help COMMAND` (or COMMAND --help) its help.
Data: set HPT_DATA_DIR to the folder holding MNIST/ (or use data=mnist_tiny).
Exit codes: 0 done, 1 the run failed, 2 bad input (one line on stderr), 130/143 interrupted.
Shell completion (bash; zsh after `autoload -Uz bashcompinit && bashcompinit`):
  eval "$(hpt -sc install=bash)"
"""

COMMANDS = (
    "train",
    "sweep",
    "summarize",
    "lr-find",
    "dashboard",
    "predict",
    "eval",
    "export",
    "storage-proxy",
)
USE = {  # the commands that use a trained run: module, whose main(argv) runs it
    "predict": "hpt.use.predict",
    "eval": "hpt.use.evaluate",
    "export": "hpt.use.export",
    "storage-proxy": "hpt.cli.storage_proxy",  # Optuna's gRPC proxy in front of a study database
}
TRAIN_ABOUT = """usage: hpt train [group=option ...] [key=value ...] [--quiet] [-m]
                 [--resume RUN_DIR]

Train one model on the composed config and write its run dir (outputs/runs/...).
-m runs every combination of comma-separated values (model=mlp,cnn optimizer.lr=0.1,0.01)
one after the other and prints each job's objective and the best.
--resume RUN_DIR continues a killed run from its checkpoints/last.pt, with its own config."""
LR_FIND_ABOUT = """usage: hpt lr-find [group=option ...] [key=value ...]

The learning-rate range test: grow the lr from lr_find.start to lr_find.end over
lr_find.steps batches and suggest the lr where the loss falls fastest (outputs/lr_find/...).
Settings: lr_find.start, lr_find.end, lr_find.steps, lr_find.beta, lr_find.diverge."""
HELP_OF = {  # command -> (about, groups that do not apply to it)
    "train": (TRAIN_ABOUT, ("search", "lr_find")),
    "lr-find": (LR_FIND_ABOUT, ("search", "task")),
}


def main(argv: list[str] | None = None) -> int:
    """Run the ``hpt`` command.

    Args:
        argv: The arguments after ``hpt`` (default: ``sys.argv[1:]``).

    Returns:
        The exit code: 0 done, 1 the run failed, 2 bad input, 130/143 interrupted.
    """
    try:
        return _main(list(sys.argv[1:] if argv is None else argv))
    except BrokenPipeError:
        # `hpt train --help | head`: the reader left. Stop quietly, and keep Python's flush
        # at exit from failing on the closed pipe.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 0


def _main(argv: list[str]) -> int:
    if argv[:1] == ["help"] and argv[1:2]:  # git's habit: `hpt help train`
        argv = [argv[1], "--help"]
    if not argv or argv[0] in ("-h", "--help", "help"):
        print(HELP, end="")
        return 0
    if "--version" in argv or argv[0] == "-V":  # hpt's, for every command
        from hpt.cli.app import versions

        print(versions())
        return 0
    if argv[0] in ("-sc", "--shell-completion"):
        from hpt.cli.completion import complete

        return complete(argv[1:], train_task=_train_task, commands=COMMANDS)
    command, rest = argv[0], argv[1:]
    if command in HELP_OF and any(a in ("-h", "--help") for a in rest):
        from hpt.cli.app import command_help

        about, skip = HELP_OF[command]
        print(command_help(f"hpt {command}", about, skip), end="")
        return 0
    if command in ("train", "sweep") and sys.stderr.isatty() and "--help" not in rest:
        # torch, Hydra and the data take seconds to load: say so before the first epoch
        print(
            f"hpt {command}: loading torch, composing the config ...", file=sys.stderr, flush=True
        )
    if command == "train":
        return _train(rest)
    if command == "sweep":
        from hpt.sweep.command import sweep_main

        return sweep_main(rest)
    if command == "summarize":
        from hpt.summarize.cli import main as summarize_main

        return summarize_main(rest)
    if command == "lr-find":
        from hpt.training.lr_find import lr_find_main

        return lr_find_main(rest)
    if command == "dashboard":
        from hpt.cli.dashboard import main as dashboard_main

        return dashboard_main(rest)
    if command in USE:
        import importlib

        return int(importlib.import_module(USE[command]).main(rest))
    print(
        f"hpt: error: unknown command {command!r} (choose from {', '.join(COMMANDS)})",
        file=sys.stderr,
    )
    return 2


def _train_task(cfg: Any) -> Any:
    # torch loads only once the config has composed: a typo is reported in a fraction of a second.
    from hpt import train

    # Validated by the launch (hpt.config.check.Validate, or each job of -m): not again. The
    # Outcome it returns is each job's value, kept in hpt.cli.exits.Job.value.
    return train.task(cfg, checked=True)


_train_task.__module__ = "hpt.train"  # Hydra names the job after this module: keep `train`


def _train(argv: list[str]) -> int:
    from hpt.cli.exits import Job
    from hpt.cli.launch import run_hydra

    if "--quiet" in argv or "-q" in argv:  # plain output, no progress display
        argv = [a for a in argv if a not in ("--quiet", "-q")] + ["trainer.quiet=true"]
    if "--resume" in argv:
        argv = _resume_args(argv)
    jobs: list[Job] = []
    code = run_hydra(_train_task, argv, prog="hpt train", jobs=jobs)
    if code != 0 or not jobs:
        return code
    if len(jobs) == 1 and "-m" not in argv and "--multirun" not in argv:
        return _report_run(jobs[0])
    return _report_multirun(jobs)


def _report_run(job: Any) -> int:
    """One run: its dir and objective, or why it failed (exit 1)."""
    outcome = job.value
    if outcome.status == "FAIL":
        print(f"hpt train: run failed ({outcome.error_kind}): {outcome.error}", file=sys.stderr)
        print(f"run dir: {outcome.run_dir}")
        return 1
    print(f"run dir: {outcome.run_dir}")
    print(f"objective: {_objective_text(outcome)}")
    test = _test_metrics(outcome.run_dir)
    if test:
        print(f"test: {test}")
    return 0


def _test_metrics(run_dir: Any) -> str:
    """The test split's metrics from result.json (looked at once, after selection)."""
    from pathlib import Path

    from hpt.rundir import RESULT, read_json

    result = read_json(Path(str(run_dir)) / RESULT) or {}
    test = result.get("test")
    if not isinstance(test, dict):
        return ""
    return "  ".join(
        f"{k}={v:.4g}" for k, v in test.items() if isinstance(v, int | float) and k != "epoch"
    )


def _objective_text(outcome: Any) -> str:
    values = outcome.values or []
    return ", ".join(
        f"{o.name}={v:.4f} ({o.direction})" for o, v in zip(outcome.objectives, values)
    )


def _report_multirun(jobs: list[Any]) -> int:
    """`hpt train -m`: one line per job, then the best on the first objective."""
    from hpt.errors import UserError, one_line

    best, code = None, 0
    shared = set.intersection(*(set(job.overrides) for job in jobs))
    for i, job in enumerate(jobs):
        what = " ".join(o for o in job.overrides if o not in shared) or "(same overrides)"
        outcome = job.value
        if job.error is not None:
            code = max(code, 2 if isinstance(job.error, UserError) else 1)
            kind = "" if isinstance(job.error, UserError) else f"{type(job.error).__name__}: "
            print(f"job {i} [{what}]: failed: {kind}{one_line(job.error)}")
        elif outcome is None or outcome.status != "COMPLETE" or not outcome.values:
            code = max(code, 1)
            error = getattr(outcome, "error", None) or "no objective value"
            print(f"job {i} [{what}]: failed: {error}  run dir: {job.run_dir}")
        else:
            print(f"job {i} [{what}]: {_objective_text(outcome)}  run dir: {job.run_dir}")
            first = outcome.objectives[0]
            sign = 1 if first.direction == "maximize" else -1
            if best is None or sign * outcome.values[0] > sign * best[1].values[0]:
                best = (i, outcome, what)
    if best is not None:
        i, outcome, what = best
        print(f"best: job {i} [{what}]: {_objective_text(outcome)}  run dir: {outcome.run_dir}")
    return code


def _resume_args(argv: list[str]) -> list[str]:
    """``--resume RUN_DIR``: that run's own overrides, in its own directory, from its last.pt."""
    from pathlib import Path

    import yaml

    i = argv.index("--resume")
    if i + 1 >= len(argv) or "=" in argv[i + 1]:
        print("hpt train: error: --resume needs a run directory", file=sys.stderr)
        raise SystemExit(2)
    run_dir = Path(argv[i + 1]).resolve()
    saved = run_dir / ".hydra" / "overrides.yaml"
    if not saved.is_file():
        print(
            f"hpt train: error: {run_dir} is not a run directory (no {saved.name})", file=sys.stderr
        )
        raise SystemExit(2)
    previous = [
        str(o) for o in yaml.safe_load(saved.read_text()) or [] if not str(o).startswith("resume=")
    ]
    rest = argv[:i] + argv[i + 2 :]
    return [*previous, *rest, f"hydra.run.dir={run_dir}", f"resume={run_dir}"]


if __name__ == "__main__":
    sys.exit(main())
