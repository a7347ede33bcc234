"""Turns a generative task's config into objects (model, optimizers, scorer), as ``hpt.build`` does.

The loops in ``gan.py`` and ``vae.py`` take the plain typed ``GenerativeRun`` built here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import torch
from hydra.utils import instantiate
from omegaconf import DictConfig, OmegaConf

from hpt import objectives
from hpt.build import load_source, run_params
from hpt.config.schema import plain
from hpt.data import MNIST_MEAN, MNIST_STD, Dataset, Split, prepare
from hpt.errors import UserError
from hpt.generative.models import GAN, VAE, ScoreNet
from hpt.generative.scorer import Scorer, cache_key, load_scorer
from hpt.models import count_parameters
from hpt.objectives import Objective
from hpt.record import DERIVED
from hpt.rundir import flatten
from hpt.training.precision import configure_backends, resolve_device, resolve_precision

KINDS = ("gan", "vae")
DEFAULT_OBJECTIVE = {"gan": "val/score", "vae": "val/loss"}
METRICS = {
    "gan": (
        "val/score",
        "val/confidence",
        "val/diversity",
        "val/d_loss",
        "train/loss",
        "train/d_loss",
        "train/g_loss",
    ),
    "vae": ("val/loss", "val/recon", "val/kl", "train/loss"),
}
# Groups a generative run does not read: kept out of its params so reports do not show them.
UNUSED_GROUPS = ("model.", "optimizer.", "scheduler.", "loss.", "regularization.", "compress.")


@dataclass
class GenSettings:
    kind: str  # gan | vae
    epochs: int
    batch_size: int
    eval_batch_size: int
    precision: str
    device: torch.device
    seed: int
    objective: str
    maximize: bool
    grid: int = 64
    score_samples: int = 2000
    beta: float = 1.0  # VAE: weight of the KL term in the training loss


@dataclass
class GenerativeRun:
    model: GAN | VAE
    optimizers: dict[str, torch.optim.Optimizer]  # gan: {"g", "d"}; vae: {"vae"}
    data: Dataset  # [0, 1] pixels, on the device
    settings: GenSettings
    objectives: list[Objective]
    n_params: int
    scorer: Scorer | None = None
    info: dict[str, Any] = field(default_factory=dict)  # extra facts for result.json


def params(cfg: DictConfig, choices: dict[str, Any] | None = None) -> dict[str, Any]:
    """hpt's flattened params without the groups this task ignores, plus ``task.*``.

    Args:
        cfg: The composed config.
        choices: Hydra's group choices (recorded as ``<group>.name``).

    Returns:
        Dotted keys and their values.
    """
    base = {k: v for k, v in run_params(cfg, choices).items() if not k.startswith(UNUSED_GROUPS)}
    task = OmegaConf.to_container(cfg.task, resolve=True)
    assert isinstance(task, dict)
    extra = {
        k: v
        for k, v in flatten({str(k): v for k, v in task.items()}, "task.").items()
        if not k.endswith(("._target_", "._partial_"))
    }
    return {**base, **extra}


def resolve_objectives(metric: Any, direction: Any, kind: str) -> list[Objective]:
    """The run's objectives; ``auto``: the task's own (val/score for the GAN, val/loss for the VAE).

    Args:
        metric: ``objective.metric``: a metric or a list of them.
        direction: ``objective.direction``: one, or one per metric.
        kind: ``gan`` or ``vae``.

    Returns:
        The objectives, the first one selecting the best epoch.

    Raises:
        UserError: A name that is not a metric of the task (or a derived one), or a derived
            metric first.
    """
    out = objectives.resolve(metric, direction, DEFAULT_OBJECTIVE[kind])
    for o in out:
        if o.name not in (*METRICS[kind], *DERIVED):
            raise UserError(
                f"objective.metric={o.name!r} is not a metric of task={kind}: "
                f"use one of {', '.join((*METRICS[kind], *DERIVED))}"
            )
    if out[0].name in DERIVED:
        raise UserError(f"the first objective must be a training metric, not {out[0].name}")
    return out


def _pixels(split: Split) -> Split:
    """hpt's normalised images -> [0, 1] pixels, the scale both models are trained on."""
    return Split((split.x * MNIST_STD + MNIST_MEAN).clamp_(0.0, 1.0), split.y)


def _optimizer(conf: Any, params: Any, what: str) -> torch.optim.Optimizer:
    try:  # torch checks the values (lr >= 0, betas in [0, 1)) when the optimizer is made
        return instantiate(conf, _convert_="all")(params=params)
    except (ValueError, TypeError) as exc:
        raise UserError(f"bad {what} setting: {exc}") from exc


def build(cfg: DictConfig) -> GenerativeRun:
    """Data, model, optimizers, objective and (for the GAN) the frozen scorer of one run.

    Args:
        cfg: The composed config (``task=gan`` or ``task=vae``).

    Returns:
        The run's objects and settings.

    Raises:
        UserError: A setting that cannot be built (one line naming it).
    """
    kind = str(cfg.task.get("name", "")) if isinstance(cfg.get("task"), DictConfig) else ""
    if kind not in KINDS:  # the model, optimizers and metrics below are a GAN's or a VAE's
        raise UserError(f"task={kind!r} is unknown: use task=supervised, gan or vae")
    t, d, task = cfg.trainer, cfg.data, cfg.task
    problem = str(plain(d.problem))
    if problem != "classification" or len(d.shape) != 3:
        raise UserError(
            f"task={kind} needs image data (data=mnist or data=mnist_tiny), not data={d.name}"
        )
    if t.epochs < 1 or t.batch_size < 1 or t.eval_batch_size < 1:
        raise UserError(
            "trainer.epochs, trainer.batch_size and trainer.eval_batch_size must be >= 1"
        )
    device = resolve_device(str(t.device))
    precision = resolve_precision(str(plain(t.precision)), device)
    configure_backends(device, bool(t.deterministic), int(t.seed))
    data = _data(cfg, problem, device)
    image_shape = [int(s) for s in d.shape]

    torch.manual_seed(int(t.seed))  # the same init for the same seed, whatever ran before
    model = _model(task, image_shape, kind)
    n_params = count_parameters(model)
    model = model.to(device)

    objectives = resolve_objectives(cfg.objective.metric, cfg.objective.direction, kind)
    settings = gen_settings(cfg, kind, precision, device, objectives[0])
    info: dict[str, Any] = {}
    scorer: Scorer | None = None
    if isinstance(model, GAN):
        optimizers = {
            "g": _optimizer(
                task.g_optimizer, model.generator.parameters(), "task.g_lr/beta1/beta2"
            ),
            "d": _optimizer(
                task.d_optimizer, model.discriminator.parameters(), "task.d_lr/beta1/beta2"
            ),
        }
        scorer, info["scorer"] = _scorer(d, data, settings, image_shape)
    else:
        optimizers = {"vae": _optimizer(task.optimizer, model.parameters(), "task.lr")}
    return GenerativeRun(model, optimizers, data, settings, objectives, n_params, scorer, info)


def _data(cfg: DictConfig, problem: str, device: torch.device) -> Dataset:
    """The images as [0, 1] pixels, all of them on the device."""
    t, d = cfg.trainer, cfg.data
    raw = prepare(load_source(d), d, val_split=float(t.val_split), seed=int(t.seed))
    # MNIST is small: the whole dataset lives on the device and batches are slices of it.
    return Dataset(_pixels(raw.train), _pixels(raw.val), _pixels(raw.test), problem).to(device)


def _model(task: DictConfig, image_shape: list[int], kind: str) -> GAN | VAE:
    """``task.model``, which must build the task's kind of model."""
    model = instantiate(task.model, image_shape=image_shape, _convert_="all")
    expected = GAN if kind == "gan" else VAE
    if not isinstance(model, expected):
        raise UserError(
            f"task.model._target_ must build a {expected.__name__} for task={kind}, "
            f"got {type(model).__name__}"
        )
    return model


def gen_settings(
    cfg: DictConfig, kind: str, precision: str, device: torch.device, first: Objective
) -> GenSettings:
    """The generative loops' plain settings.

    Args:
        cfg: The composed config (``trainer`` and ``task`` are read).
        kind: ``gan`` or ``vae``.
        precision: The resolved precision.
        device: The resolved device.
        first: The first objective: it selects the best epoch.

    Returns:
        The settings.

    Raises:
        UserError: ``task.grid`` or ``task.score_samples`` out of range.
    """
    t, task = cfg.trainer, cfg.task
    settings = GenSettings(
        kind=kind,
        epochs=int(t.epochs),
        batch_size=int(t.batch_size),
        eval_batch_size=int(t.eval_batch_size),
        precision=precision,
        device=device,
        seed=int(t.seed),
        objective=first.name,
        maximize=first.direction == "maximize",
        grid=int(task.get("grid", 64)),
        score_samples=int(task.get("score_samples", 2000)),
        beta=float(task.get("beta", 1.0)),
    )
    if settings.grid < 1 or settings.score_samples < 2:
        raise UserError("task.grid must be >= 1 and task.score_samples >= 2")
    return settings


def _scorer(
    d: DictConfig, data: Dataset, settings: GenSettings, image_shape: list[int]
) -> tuple[Scorer, dict[str, Any]]:
    """The GAN's frozen classifier, and what result.json records of it."""
    # The classifier learns from all training images (train + val): it is a fixed instrument,
    # the same for every trial, and never sees the test split.
    train = Split(torch.cat([data.train.x, data.val.x]), torch.cat([data.train.y, data.val.y]))
    key = cache_key(str(d.name), d.get("subset"), len(train.x), int(d.num_classes))
    net = ScoreNet(image_shape, int(d.num_classes))
    scorer = load_scorer(key, net, train, data.test, settings.device, settings.eval_batch_size)
    real = data.val.x[: settings.score_samples]
    info = {
        "key": key,
        "test_acc": scorer.test_acc,
        "real_val_score": scorer.score(real)["score"],
    }
    return scorer, info
