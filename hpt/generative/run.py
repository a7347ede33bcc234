"""The generative tasks (``task=gan`` / ``task=vae``), run by ``hpt.train.run`` like any hpt run.

result.json, metrics.jsonl, manifest.json and checkpoints/best.pt follow ``hpt.rundir``; the
run adds ``samples/epoch_XXX.png`` grids and, for the GAN, a ``scorer`` record in result.json.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from omegaconf import DictConfig

from hpt.generative.build import GenerativeRun, build, params, resolve_objectives
from hpt.generative.gan import gan_epoch_fn, gan_test
from hpt.generative.samples import grid_path
from hpt.generative.vae import vae_epoch_fn, vae_test
from hpt.objectives import Objective
from hpt.record import Outcome, RunRecord, derived_values, save_checkpoint
from hpt.rundir import CHECKPOINT
from hpt.task import Hooks
from hpt.training.loop import run_epochs
from hpt.training.loop_types import Callbacks, EpochPlan, FitResult, Metrics
from hpt.training.progress import RunProgress


class GenerativeProgress(RunProgress):
    # The metrics worth a glance per epoch (the base class lists the supervised ones).
    KEYS = (
        "train/loss",
        "train/d_loss",
        "val/loss",
        "val/score",
        "val/d_loss",
        "val/recon",
        "val/kl",
        "throughput/samples_per_s",
    )  # type: ignore[assignment]


class Generative:
    """What the GAN and the VAE share: ``task.*`` settings, sample grids, one test at the end."""

    kind = ""  # gan | vae: the subclass's, as are its epoch and its test
    epoch_fn: Callable[[GenerativeRun, Path, Callable[[int], None]], Callable[[int], Metrics]]
    test: Callable[[GenerativeRun], Metrics]
    progress = GenerativeProgress
    resumable = False  # no checkpoints/last.pt is written

    def params(self, cfg: DictConfig, choices: dict[str, Any] | None) -> dict[str, Any]:
        """hpt's params without the groups this task ignores, plus ``task.*``."""
        return params(cfg, choices)

    def objectives(self, cfg: DictConfig) -> list[Objective]:
        """``objective.*``; ``auto``: the task's own metric."""
        return resolve_objectives(cfg.objective.metric, cfg.objective.direction, self.kind)

    def build(self, cfg: DictConfig) -> GenerativeRun:
        """Data, model, optimizers and (GAN) scorer."""
        return build(cfg)

    def info(self, cfg: DictConfig, built: GenerativeRun) -> dict[str, Any]:
        """What the build learnt that result.json keeps (the GAN's scorer)."""
        return dict(built.info)

    def fit(
        self, cfg: DictConfig, built: GenerativeRun, hooks: Hooks, extra: dict[str, Any]
    ) -> tuple[FitResult, GenerativeRun]:
        """Every epoch through ``hpt.training.loop.run_epochs``; the best one kept by the
        objective."""
        s = built.settings
        epoch_fn = self.epoch_fn(built, hooks.run_dir, hooks.on_step)
        plan = EpochPlan(s.epochs, s.objective, s.maximize)
        fitted = run_epochs(built.model, epoch_fn, plan, Callbacks(hooks.reporter, hooks.on_epoch))
        return fitted, built

    def images(self, run_dir: Path, epoch: int) -> list[tuple[str, Path]]:
        """The grids this epoch wrote (the VAE's also ``_recon``)."""
        paths = ((f"samples{s}", grid_path(run_dir, epoch, s)) for s in ("", "_recon"))
        return [(tag, path) for tag, path in paths if path.is_file()]

    def keep_best(
        self,
        cfg: DictConfig,
        built: GenerativeRun,
        fitted: FitResult,
        record: RunRecord,
        extra: dict[str, Any],
        cwd: str | None,
    ) -> Outcome | None:
        """Save the best weights; test them once if the run completed."""
        if fitted.best_state is None:
            return None
        save_checkpoint(record.run_dir / CHECKPOINT, fitted.best_state)
        if fitted.status == "COMPLETE":
            # The test split is seen once, with the weights chosen on validation.
            built.model.load_state_dict(fitted.best_state)
            extra["test"] = self.test(built)
        return None

    def derived(
        self, fitted: FitResult, built: GenerativeRun, extra: dict[str, Any]
    ) -> dict[str, float]:
        """``n_params``, ``time_to_best`` ..."""
        return derived_values(fitted.history, built.n_params)


class Gan(Generative):
    """``task=gan``: a GAN judged by an Inception-Score-like score (``hpt.generative.scorer``)."""

    kind = "gan"
    epoch_fn = staticmethod(gan_epoch_fn)
    test = staticmethod(gan_test)


class Vae(Generative):
    """``task=vae``: a VAE judged by its negative ELBO on validation."""

    kind = "vae"
    epoch_fn = staticmethod(vae_epoch_fn)
    test = staticmethod(vae_test)
