"""hpt's Optuna sweeper, as Hydra discovers it: typed configs and a thin class.

Hydra imports every module under ``hydra_plugins`` for every app, so this file holds only
dataclasses; the sweep logic (and optuna, torch) load lazily from ``hpt.sweep``.
Config names follow hydra-optuna-sweeper where they overlap, so a config migrates by
changing ``override hydra/sweeper: optuna`` to ``override hydra/sweeper: hpt``.
"""

from dataclasses import fields
from typing import Any

from hydra.core.config_store import ConfigStore
from hydra.plugins.sweeper import Sweeper
from hydra.types import HydraContext, TaskFunction
from omegaconf import DictConfig, OmegaConf

from hpt.sweep.planning.options import (
    BruteForceSamplerConf,
    CmaEsSamplerConf,
    GPSamplerConf,
    GridSamplerConf,
    HptSweeperConf,
    HyperbandPrunerConf,
    MedianPrunerConf,
    MOTPESamplerConf,
    NopPrunerConf,
    NSGAIISamplerConf,
    PercentilePrunerConf,
    QMCSamplerConf,
    RandomSamplerConf,
    SuccessiveHalvingPrunerConf,
    TPESamplerConf,
    WilcoxonPrunerConf,
)


def _open(node: type) -> dict[str, Any]:
    """A sampler/pruner node as a plain mapping, not a typed one: a config written for
    hydra-optuna-sweeper may pass any of the sampler's own arguments (``n_ei_candidates``,
    ``sigma0``, ...) or name another sampler in ``_target_``; Optuna checks them when hpt
    builds the sampler, before anything runs."""
    return {f.name: f.default for f in fields(node)}


def sweep_name(search: Any = None, study_name: Any = None) -> str:
    """``hpt_sweep_name``: the default sweep dir's last part.

    The study's name, else the search config's, so running the same command again finds the
    same study and resumes it.

    Args:
        search: The search config's name (``hydra:runtime.choices.search``), if any.
        study_name: ``hydra.sweeper.study_name``, if set.

    Returns:
        The name (``sweep`` when neither is set).
    """
    return str(study_name or search or "sweep")


if not OmegaConf.has_resolver("hpt_sweep_name"):
    OmegaConf.register_new_resolver("hpt_sweep_name", sweep_name)

cs = ConfigStore.instance()
cs.store(group="hydra/sweeper", name="hpt", node=HptSweeperConf, provider="hpt")
SAMPLERS: dict[str, type] = {
    "tpe": TPESamplerConf,
    "random": RandomSamplerConf,
    "grid": GridSamplerConf,
    "cmaes": CmaEsSamplerConf,
    "gp": GPSamplerConf,
    "qmc": QMCSamplerConf,
    "nsgaii": NSGAIISamplerConf,
    "bruteforce": BruteForceSamplerConf,
    "motpe": MOTPESamplerConf,  # hydra-optuna-sweeper 1.2/1.3's name: TPE runs (one line says)
}
PRUNERS: dict[str, type] = {
    "none": NopPrunerConf,
    "median": MedianPrunerConf,
    "percentile": PercentilePrunerConf,
    "successive_halving": SuccessiveHalvingPrunerConf,
    "hyperband": HyperbandPrunerConf,
    "wilcoxon": WilcoxonPrunerConf,
}
for _name, _node in SAMPLERS.items():
    cs.store(group="hydra/sweeper/sampler", name=_name, node=_open(_node), provider="hpt")
for _name, _node in PRUNERS.items():
    cs.store(group="hydra/sweeper/pruner", name=_name, node=_open(_node), provider="hpt")


class HptSweeper(Sweeper):
    """hpt's sweeper (``hydra/sweeper=hpt``): the settings kept, the sweep run by
    ``hpt.sweep.runner``; a user's app gets hpt's one-line errors and exit codes."""

    def __init__(self, **conf: Any) -> None:
        self.conf = conf

    def setup(
        self, *, hydra_context: HydraContext, task_function: TaskFunction, config: DictConfig
    ) -> None:
        """Keep what Hydra gives the sweeper before the sweep.

        Args:
            hydra_context: Hydra's context, to run each trial's job.
            task_function: The task every trial runs.
            config: The run's composed config.
        """
        self.hydra_context = hydra_context
        self.task_function = task_function
        self.config = config

    def sweep(self, arguments: list[str]) -> Any:
        """Run the sweep to its end.

        Args:
            arguments: The command line's sweep overrides (``key=EXPR``).

        Returns:
            None, as hydra-optuna-sweeper's ``sweep``: the results are in the study and the
            sweep dir.

        Raises:
            SystemExit: For a user's app: 2 for a setting to fix, 1 for a sweep stopped by
                its failures, 130/143 when interrupted (hpt's own task raises the error).
        """
        from hpt.sweep.runner import run_sweep

        assert self.hydra_context is not None and self.config is not None  # set by setup()
        try:
            return run_sweep(
                self.conf,
                arguments,
                hydra_context=self.hydra_context,
                task_function=self.task_function,
                config=self.config,
            )
        except KeyboardInterrupt as exc:
            from hpt.errors import Terminated
            from hpt.sweep.running.objective import is_hpt_task

            if is_hpt_task(self.task_function):
                raise  # hpt sweep reports it (hpt.cli.launch.run_hydra)
            raise SystemExit(143 if isinstance(exc, Terminated) else 130) from None
        except Exception as exc:
            from hpt.sweep.running.objective import is_hpt_task

            if is_hpt_task(self.task_function):
                raise  # hpt sweep reports it (hpt.cli.launch.run_hydra)
            import sys

            from hpt.errors import SweepAbortedError, UserError, one_line

            # A user's app runs under Hydra's own main, which would print a traceback through
            # hpt and exit 1: a setting the user can fix gets one line and exit code 2, a sweep
            # stopped by its failures the trials' own errors and exit code 1.
            if isinstance(exc, SweepAbortedError):
                print(f"hpt sweeper: {exc}", file=sys.stderr)
                raise SystemExit(1) from None
            if not isinstance(exc, UserError):
                raise
            print(f"hpt sweeper: error: {one_line(exc)}", file=sys.stderr)
            raise SystemExit(2) from None


class OptunaSweeper(HptSweeper):
    """hydra-optuna-sweeper's class name, answered by hpt.

    Search configs written for the old plugin (every lightning-hydra-template project) pin
    ``hydra.sweeper._target_: hydra_plugins.hydra_optuna_sweeper.optuna_sweeper.OptunaSweeper``
    beside ``override hydra/sweeper: ...``. Hydra finds a sweeper class by that dotted name
    among the plugins it scanned, so this class registers under it: changing the sweeper line
    to ``hpt`` is then the whole migration. Where hydra-optuna-sweeper itself is installed, its
    module is scanned after this one and its class keeps the name.
    """


def _alias_old_plugin() -> None:
    """Answer hydra-optuna-sweeper's ``_target_`` where that plugin is not installed.

    Hydra checks the name against the scanned plugin classes, then imports it by its dotted
    path. Both must succeed, so the class registers under the old name (``__module__``) and
    the old module path is bound in ``sys.modules`` to a module holding it. No file is
    installed at that path: where the real plugin is present, nothing here is changed.
    """
    import importlib.util
    import sys
    import types

    package, module = "hydra_plugins.hydra_optuna_sweeper", "optuna_sweeper"
    if package in sys.modules or importlib.util.find_spec(package) is not None:
        return
    pkg, mod = types.ModuleType(package), types.ModuleType(f"{package}.{module}")
    pkg.__path__ = []  # a package with no files: nothing under it is scanned or imported
    mod.OptunaSweeper = OptunaSweeper  # type: ignore[attr-defined]
    pkg.optuna_sweeper = mod  # type: ignore[attr-defined]
    sys.modules[package], sys.modules[f"{package}.{module}"] = pkg, mod
    OptunaSweeper.__module__ = f"{package}.{module}"


_alias_old_plugin()
