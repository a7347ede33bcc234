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
from hpt.build import run_params, task_kind
from hpt.config import plain
from hpt.data import MNIST_MEAN, MNIST_STD, Dataset, Split, load_dataset
from hpt.errors import UserError
from hpt.generative.models import GAN, VAE
from hpt.generative.scorer import Scorer, cache_key, load_scorer
from hpt.models import count_parameters
from hpt.objectives import Objective
from hpt.precision import configure_backends, resolve_device, resolve_precision
from hpt.record import DERIVED
from hpt.rundir import flatten

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
    """hpt's flattened params without the groups this task ignores, plus ``task.*``."""
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
    """``auto`` -> the task's objective; the names must be metrics of the task or derived ones."""
    out = objectives.resolve(metric, direction, DEFAULT_OBJECTIVE[kind])
    for o in out:
        if o.name not in (*METRICS[kind], *DERIVED):
            raise UserError(
                f"objective.metric={o.name!r} is not a metric of task={kind}: use one of {', '.join((*METRICS[kind], *DERIVED))}"
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
    """Data, model, optimizers, objective and (for the GAN) the frozen scorer of one run."""
    kind = task_kind(cfg)
    if kind not in KINDS:
        raise UserError(f"task={kind!r} is unknown: use task=supervised, gan or vae")
    t, d, task = cfg.trainer, cfg.data, cfg.task
    data_task = str(plain(d.problem))
    if data_task != "classification" or len(d.shape) != 3:
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

    subset = d.get("subset")
    raw = load_dataset(
        str(d.name),
        data_task,
        val_split=float(t.val_split),
        seed=int(t.seed),
        root=d.get("root"),
        download=bool(d.get("download", True)),
        subset=subset,
    )
    # MNIST is small: the whole dataset lives on the device and batches are slices of it.
    data = Dataset(_pixels(raw.train), _pixels(raw.val), _pixels(raw.test), data_task).to(device)
    image_shape = [int(s) for s in d.shape]

    torch.manual_seed(int(t.seed))  # the same init for the same seed, whatever ran before
    model = instantiate(task.model, image_shape=image_shape, _convert_="all")
    expected = GAN if kind == "gan" else VAE
    if not isinstance(model, expected):
        raise UserError(
            f"task.model._target_ must build a {expected.__name__} for task={kind}, got {type(model).__name__}"
        )
    n_params = count_parameters(model)
    model = model.to(device)

    objectives = resolve_objectives(cfg.objective.metric, cfg.objective.direction, kind)
    settings = GenSettings(
        kind=kind,
        epochs=int(t.epochs),
        batch_size=int(t.batch_size),
        eval_batch_size=int(t.eval_batch_size),
        precision=precision,
        device=device,
        seed=int(t.seed),
        objective=objectives[0].name,
        maximize=objectives[0].direction == "maximize",
        grid=int(task.get("grid", 64)),
        score_samples=int(task.get("score_samples", 2000)),
        beta=float(task.get("beta", 1.0)),
    )
    if settings.grid < 1 or settings.score_samples < 2:
        raise UserError("task.grid must be >= 1 and task.score_samples >= 2")

    info: dict[str, Any] = {}
    scorer = None
    if isinstance(model, GAN):
        optimizers = {
            "g": _optimizer(
                task.g_optimizer, model.generator.parameters(), "task.g_lr/beta1/beta2"
            ),
            "d": _optimizer(
                task.d_optimizer, model.discriminator.parameters(), "task.d_lr/beta1/beta2"
            ),
        }
        # The classifier learns from all training images (train + val): it is a fixed instrument,
        # the same for every trial, and never sees the test split.
        train_x = torch.cat([data.train.x, data.val.x])
        train_y = torch.cat([data.train.y, data.val.y])
        key = cache_key(str(d.name), subset, len(train_x), int(d.num_classes))
        scorer = load_scorer(
            key,
            train_x,
            train_y,
            data.test.x,
            data.test.y,
            image_shape,
            int(d.num_classes),
            device,
            settings.eval_batch_size,
        )
        real = data.val.x[: settings.score_samples]
        info["scorer"] = {
            "key": key,
            "test_acc": scorer.test_acc,
            "real_val_score": scorer.score(real)["score"],
        }
    else:
        optimizers = {"vae": _optimizer(task.optimizer, model.parameters(), "task.lr")}
    return GenerativeRun(model, optimizers, data, settings, objectives, n_params, scorer, info)
