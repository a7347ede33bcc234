"""Optuna's sampler from its config block (and any block's class: ``instantiate``, which
``hpt.sweep.planning.pruning`` builds the pruner with), and the custom search space function: what a
hydra-optuna-sweeper config names, resolved and checked before any trial.

A block may name any sampler in ``_target_`` while the ``hydra/sweeper/sampler`` group's
default (TPE) supplied its own keys: those injected defaults are dropped when the named
class does not take them; any other unknown key is the user's typo and an error.
"""

from __future__ import annotations

import importlib
import inspect
import sys
from collections.abc import Callable, Mapping
from typing import Any

import optuna

from hpt.errors import UserError, one_line
from hpt.sweep.planning.space import SearchSpace


def _group_defaults() -> set[str]:
    """Keys hpt's own sampler/pruner group options put into a block."""
    import dataclasses

    from hpt.sweep.planning import options

    keys: set[str] = set()
    for obj in vars(options).values():
        if (
            isinstance(obj, type)
            and dataclasses.is_dataclass(obj)
            and obj.__name__.endswith(("SamplerConf", "PrunerConf"))
        ):
            keys.update(f.name for f in dataclasses.fields(obj))
    return keys


def instantiate(conf: Mapping[str, Any], what: str) -> Any:
    """The class a sampler or pruner block names (``what``), called with its keys; the
    sampler group's injected defaults the class does not take are dropped."""
    from hydra.utils import get_class

    target = str(conf.get("_target_") or "")
    try:
        cls = get_class(target)
    except Exception:
        raise UserError(
            f"hydra.sweeper.{what}._target_={target!r} is not an importable class"
        ) from None
    params = inspect.signature(cls).parameters
    takes_any = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values())
    kwargs: dict[str, Any] = {}
    injected = _group_defaults()
    for key, value in conf.items():
        if key == "_target_":
            continue
        if key in params or takes_any:
            kwargs[key] = value
        elif key not in injected:
            raise UserError(f"hydra.sweeper.{what}.{key}: {cls.__name__} has no argument {key!r}")
    try:
        return cls(**kwargs)
    except Exception as exc:
        raise UserError(f"hydra.sweeper.{what}: {cls.__name__}: {one_line(exc)}") from None


def motpe_as_tpe(conf: Any) -> tuple[Any, str | None]:
    """hydra-optuna-sweeper 1.2/1.3's ``motpe`` (``optuna.samplers.MOTPESampler``), which
    Optuna 4 removed, as the TPESampler that replaced it for several objectives.

    Args:
        conf: The sampler's config block (or None).

    Returns:
        The block to build (MOTPE's ``n_ehvi_candidates`` renamed ``n_ei_candidates``, hpt's
        TPE default ``constant_liar`` added), and the one-line note to print (None: unchanged).
    """
    if conf is None or not str(conf.get("_target_", "")).endswith("MOTPESampler"):
        return conf, None
    tpe = {"_target_": "optuna.samplers.TPESampler", "constant_liar": True}
    for key, value in conf.items():
        if key != "_target_":
            tpe["n_ei_candidates" if key == "n_ehvi_candidates" else key] = value
    note = (
        "sampler motpe: Optuna 4 removed MOTPESampler; "
        "TPESampler, which handles several objectives, runs in its place"
    )
    return tpe, note


def build_sampler(conf: Any, space: SearchSpace) -> optuna.samplers.BaseSampler:
    """Optuna's sampler from its config; the grid comes from the search space. A seeded
    sampler is seeded per trial (``PerTrialSeed``)."""
    if conf is None:
        return optuna.samplers.TPESampler()
    conf = dict(conf)
    if str(conf.get("_target_", "")).endswith("GridSampler"):
        conf["search_space"] = space.grid()
    if conf.get("seed") is None or str(conf.get("_target_", "")).endswith("QMCSampler"):
        # QMC's scrambled sequence needs one seed for the whole study: its points are
        # distinct across workers because they are indexed by the study's trial count.
        return instantiate(conf, "sampler")  # type: ignore[no-any-return]
    seed = int(conf["seed"])

    def make(number: int) -> optuna.samplers.BaseSampler:
        sampler = instantiate({**conf, "seed": trial_seed(seed, number)}, "sampler")
        return sampler  # type: ignore[no-any-return]

    return PerTrialSeed(make)


def trial_seed(seed: int, number: int) -> int:
    """The seed of trial ``number`` in a sweep seeded with ``seed``.

    Trial 0 gets ``seed`` itself (plain Optuna's first draw); later trials get a hash of
    ``(seed, number)``. Why not ``seed + number``: sweeps seeded 0 and 1 would then draw the
    same configurations shifted by one trial, so repeating a sweep over seeds (or comparing
    two searches with different seeds) would measure nearly one sweep, not several
    (the replay benchmark found its 20 seeds sharing their best trial).
    """
    if number == 0:
        return seed
    import numpy as np

    return int(np.random.SeedSequence([seed, number]).generate_state(1)[0])


class PerTrialSeed(optuna.samplers.BaseSampler):
    """The configured sampler, seeded for each trial from the sweep's seed and the trial's
    number (``trial_seed``).

    Why: a trial's draws then depend only on its number and the study so far, never on
    which worker, process or host asked for it, so a seeded sweep gives the same trials on
    any machine, two workers never repeat each other's draws, and trial 0 draws exactly what
    plain Optuna draws with the same seed. Optuna calls ``before_trial`` with the new
    trial's number before anything is sampled for it; the samplers keep their state in
    the study, so a fresh instance per trial loses nothing.
    """

    def __init__(self, make: Callable[[int], optuna.samplers.BaseSampler]) -> None:
        self._make, self._number = make, 0
        self._inner = make(0)

    def before_trial(self, study: optuna.Study, trial: Any) -> None:
        """Switch to the sampler seeded for this trial, then let it prepare."""
        if trial.number != self._number:
            self._inner, self._number = self._make(trial.number), trial.number
        self._inner.before_trial(study, trial)

    def infer_relative_search_space(self, study: optuna.Study, trial: Any) -> dict[str, Any]:
        """The current trial's sampler's relative search space."""
        return self._inner.infer_relative_search_space(study, trial)

    def sample_relative(
        self, study: optuna.Study, trial: Any, search_space: dict[str, Any]
    ) -> dict[str, Any]:
        """Sample with the current trial's sampler."""
        return self._inner.sample_relative(study, trial, search_space)

    def sample_independent(
        self, study: optuna.Study, trial: Any, param_name: str, param_distribution: Any
    ) -> Any:
        """Sample one parameter with the current trial's sampler."""
        return self._inner.sample_independent(study, trial, param_name, param_distribution)

    def after_trial(self, study: optuna.Study, trial: Any, state: Any, values: Any) -> None:
        """Let the current trial's sampler see the trial's end."""
        self._inner.after_trial(study, trial, state, values)

    def reseed_rng(self) -> None:
        """Reseed the current trial's sampler."""
        self._inner.reseed_rng()

    @property
    def inner(self) -> optuna.samplers.BaseSampler:
        """The sampler of the current trial (its class is the configured one)."""
        return self._inner


def custom_space(path: str) -> Callable[..., Any]:
    """``module.fn`` or, as hydra-optuna-sweeper allowed, ``.module.fn`` relative to the app:
    the module is looked up on ``sys.path``, whose first entry is the app's directory."""
    module, _, name = path.lstrip(".").rpartition(".")
    if not module or not name:
        raise UserError(f"hydra.sweeper.custom_search_space={path!r}: write it as module.function")
    try:
        fn = getattr(sys.modules.get(module) or importlib.import_module(module), name)
    except Exception as exc:
        raise UserError(
            f"hydra.sweeper.custom_search_space={path!r} cannot be imported: {one_line(exc)}"
        ) from None
    if not callable(fn):
        raise UserError(f"hydra.sweeper.custom_search_space={path!r} is not a function")
    return fn  # type: ignore[no-any-return]


def apply_custom_space(
    path: str, cfg: Any, trial: optuna.Trial, chosen: dict[str, Any]
) -> dict[str, Any]:
    """The params the custom function adds: what it returns (hpt's form), plus whatever it
    suggested on the trial without returning (hydra-optuna-sweeper's form)."""
    returned = custom_space(path)(cfg, trial)
    added = {k: v for k, v in trial.params.items() if k not in chosen}
    added.update(dict(returned or {}))
    return added
