"""Per-trial configs, composed the way Hydra does it, without paying full composition each time.

Hydra's ``load_sweep_config`` rebuilds the defaults tree and reloads every YAML file for
every trial (~100-300 ms here). Only group choices (``optimizer=sgd``) change that tree;
value overrides (``optimizer.lr=0.01``) are applied by Hydra after composition anyway. So
the composed config is cached per set of group choices and the value overrides are applied
with Hydra's own function for it (``hpt.cli.hydra_internals.apply_overrides``), in the same order.
"""

from __future__ import annotations

import copy
from typing import Any

from hydra.core.override_parser.overrides_parser import OverridesParser
from omegaconf import DictConfig, open_dict

from hpt.cli import hydra_internals


class TrialComposer:
    """Composes trial configs from overrides, reusing the composition of each set of group choices.

    Args:
        config_loader: Hydra's config loader of the sweep (``HydraContext.config_loader``).
        master: The sweep's own config, which each trial's is composed against.
        max_cached: How many compositions to keep; the oldest goes first.
    """

    def __init__(self, config_loader: Any, master: DictConfig, max_cached: int = 32) -> None:
        self.loader, self.master = config_loader, master
        self.parser = OverridesParser.create(config_loader=config_loader)
        self.cache: dict[tuple[str, ...], DictConfig] = {}
        self.max_cached = max_cached

    def _is_group(self, key: str) -> bool:
        repository = getattr(self.loader, "repository", None)
        return repository is None or repository.group_exists(key)  # unknown loader: compose fully

    def compose(self, overrides: list[str]) -> DictConfig:
        """The config Hydra's ``load_sweep_config`` would compose for these overrides.

        Args:
            overrides: The trial's overrides (``optimizer=sgd``, ``optimizer.lr=0.01``).

        Returns:
            A fresh config (a copy: the caller may change it), with ``hydra.overrides.task``
            and ``hydra.job.override_dirname`` set for the trial.
        """
        parsed = self.parser.parse_overrides(overrides)
        groups = [o for o in parsed if self._is_group(o.key_or_group)]
        values = [o for o in parsed if not self._is_group(o.key_or_group)]
        key = tuple(str(o.input_line) for o in groups)
        if key not in self.cache:
            if len(self.cache) >= self.max_cached:
                self.cache.pop(next(iter(self.cache)))
            self.cache[key] = self.loader.load_sweep_config(self.master, list(key))
        cfg = copy.deepcopy(self.cache[key])
        hydra_internals.apply_overrides(values, cfg)
        conf = cfg.hydra.job.config.override_dirname
        with open_dict(cfg.hydra):
            cfg.hydra.overrides.task = [str(o.input_line) for o in parsed]
            cfg.hydra.job.override_dirname = hydra_internals.overrides_dirname(
                overrides=parsed,
                kv_sep=conf.kv_sep,
                item_sep=conf.item_sep,
                exclude_keys=conf.exclude_keys,
            )
        return cfg
