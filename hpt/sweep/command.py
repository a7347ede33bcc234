"""``hpt sweep [overrides]``: Hydra's multirun with hpt's sweeper selected."""

from __future__ import annotations

HELP = """\
usage: hpt sweep [search=NAME] [KEY=VALUE ...] [KEY='SEARCH EXPRESSION' ...] [hydra flags]

Run an Optuna study over hpt's training task; each trial is a run dir under the sweep dir
(default outputs/sweeps/<search>-<data>-<hash of the settings>, printed at the start: running
the same command again resumes it; another command, e.g. on other data, gets its own).

search space (Hydra's override grammar; on the command line or under hydra.sweeper.params):
  interval(a, b)               a float in [a, b]
  tag(log, interval(a, b))     log scale (a > 0);  tag(int, interval(a, b)) an integer
  range(a, b[, step])          a stepped range, both ends included
  choice(x, y, ...)            categorical; config groups too: optimizer='choice(adamw, sgd)'

sweeper settings (hydra.sweeper.KEY=VALUE):
  n_trials            the study's total budget, across workers, hosts and resumes (20)
  n_jobs              worker processes on this host; 0 = one per GPU x per_gpu (1)
  per_gpu             workers sharing one GPU (1)
  direction           minimize / maximize, or a list for multi-objective (from objective.*)
  study_name          default: the search config's name (given: the dir is named for it)
  storage             default: study.journal in the sweep dir; or postgresql://user:pw@host/db
  sampler / pruner    hydra/sweeper/sampler=tpe|random|grid|gp|cmaes|qmc|nsgaii|bruteforce,
                      hydra/sweeper/pruner=none|median|percentile|successive_halving|
                        hyperband|wilcoxon;
                      their own arguments as hydra.sweeper.sampler.seed=0, ...
  max_failure_rate    stop once this share of finished trials failed (0.5) ...
  min_failures        ... and at least this many (3)
  timeout             seconds for the whole sweep; trial_timeout: seconds per trial
  enqueue             known params to try first: [{optimizer.lr: 0.01}]
  custom_search_space module.fn(cfg, trial) for define-by-run spaces
  dry_run             print the space, sampler, pruner and grid size; train nothing
  baseline            queue the base config as a trial first (true for hpt sweep)
  rerun               resume: run up to n_trials in all; extend: n_trials more (resume)
  heartbeat_interval, grace_period   liveness of workers on other hosts (5, 60 seconds)

hydra flags (any position): -m, --cfg job|hydra|all, --resolve, -cn NAME, -cp PATH, -cd DIR,
  --info, --hydra-help

examples:
  hpt sweep search=tpe hydra.sweeper.n_trials=12 hydra.sweeper.n_jobs=2 trainer.epochs=3
  hpt sweep optimizer.lr='tag(log, interval(1e-4, 1e-1))' model.width='choice(64, 128)'
  hpt sweep search=grid hydra.sweeper.dry_run=true
"""

# Hydra's flags that take a value (``--info`` takes one optionally).
_WITH_VALUE = {
    *("--cfg", "-c", "--package", "-p", "--config-path", "-cp", "--config-name", "-cn"),
    *("--config-dir", "-cd", "--experimental-rerun", "--shell-completion", "-sc"),
}


def flags_first(argv: list[str]) -> list[str]:
    """Hydra's flags before the overrides.

    Argparse takes one run of positionals, so ``hpt sweep search=tpe --cfg job n=3`` would
    otherwise reject ``n=3``.

    Args:
        argv: The command line after ``hpt sweep``.

    Returns:
        The same arguments, flags (with their values) first.
    """
    flags: list[str] = []
    overrides: list[str] = []
    i = 0
    while i < len(argv):
        arg = argv[i]
        if arg.startswith("-") and not _is_override(arg):
            flags.append(arg)
            takes = arg in _WITH_VALUE or (arg in ("--info", "-i") and _takes_value(argv, i))
            if takes and i + 1 < len(argv):
                flags.append(argv[i + 1])
                i += 1
        else:
            overrides.append(arg)
        i += 1
    return [*flags, *overrides]


def _takes_value(argv: list[str], i: int) -> bool:
    """``--info``'s optional value: the next argument, unless it is an override or a flag."""
    return i + 1 < len(argv) and not _is_override(argv[i + 1]) and not argv[i + 1].startswith("-")


def _is_override(arg: str) -> bool:
    return "=" in arg and not arg.startswith("--")


def sweep_main(argv: list[str]) -> int:
    """``hpt sweep``: hpt's task run by Hydra in multirun mode with hpt's sweeper.

    Args:
        argv: The command line after ``hpt sweep``.

    Returns:
        The exit code.
    """
    if any(a in ("-h", "--help") for a in argv):
        print(HELP + search_configs(), end="")
        return 0
    from hpt import train
    from hpt.cli.launch import run_hydra

    # The user's own hydra/sweeper choice wins; otherwise ours.
    # -m is implied; Hydra refuses it with --cfg.
    argv = [a for a in argv if a not in ("-m", "--multirun")]
    has_sweeper = any(a.split("=", 1)[0].lstrip("+~") == "hydra/sweeper" for a in argv)
    args = flags_first(argv if has_sweeper else ["hydra/sweeper=hpt", *argv])
    return run_hydra(train.task, with_sweep_dir(args), prog="hpt sweep", multirun=True)


def search_configs() -> str:
    """The ``search=NAME`` options for ``hpt sweep --help``: hpt's and those of ``./conf/search``
    (or another config dir), each with the sampler and pruner its file selects."""
    import re

    from hpt.cli.app import config_dir, user_config_dirs

    found: dict[str, str] = {}
    try:
        dirs = [*user_config_dirs(), config_dir()]
    except Exception:  # a missing HPT_CONFIG_DIR folder: hpt's own are still listed
        dirs = [config_dir()]
    for folder in dirs:
        for path in sorted((folder / "search").glob("*.yaml")):
            text = path.read_text()
            parts = [
                f"{what} {m.group(1)}"
                for what in ("sampler", "pruner")
                if (m := re.search(rf"/hydra/sweeper/{what}:\s*(\w+)", text))
            ]
            found.setdefault(path.stem, ", ".join(parts))
    width = max((len(name) for name in found), default=0)
    lines = [f"  {name:<{width}}  {about}".rstrip() for name, about in sorted(found.items())]
    head = "\nsearch configs (search=NAME; conf/search/*.yaml, yours in ./conf/search/):\n"
    return head + "\n".join(lines) + "\n"


def with_sweep_dir(argv: list[str]) -> list[str]:
    """The command line with the default sweep dir named for the sweep
    (``hpt.sweep.planning.naming``).

    Left as it is when it names the dir (``hydra.sweep.dir``) or the study
    (``hydra.sweeper.study_name``: the dir is then named for the study, conf/config.yaml).

    Args:
        argv: The command line after ``hpt sweep``, flags first.

    Returns:
        The same arguments, with ``hydra.sweep.dir=outputs/sweeps/<search>-<data>-<hash>``.
    """
    from hpt.sweep.planning.naming import default_sweep_dir

    overrides = [a for a in argv if _is_override(a)]
    named = {"hydra.sweep.dir", "hydra.sweeper.study_name"}
    if any(o.split("=", 1)[0].lstrip("+~") in named for o in overrides):
        return argv
    return [*argv, f"hydra.sweep.dir={default_sweep_dir(overrides, _default_data())}"]


def _default_data() -> str:
    """The ``data`` option of hpt's config.yaml defaults list (``mnist``)."""
    from omegaconf import OmegaConf

    from hpt.cli.app import config_dir

    root = OmegaConf.to_container(OmegaConf.load(config_dir() / "config.yaml"))
    for entry in root.get("defaults", []) if isinstance(root, dict) else []:
        if isinstance(entry, dict) and "data" in entry:
            return str(entry["data"])
    return "data"
