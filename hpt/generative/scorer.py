"""The GAN's objective: generated samples scored by a small frozen classifier of the dataset.

The measure is the Inception Score with a tiny MNIST CNN in place of Inception:

    score = exp( E_x [ KL( p(y|x) || p(y) ) ] ),   p(y) = E_x [ p(y|x) ]

It is high when each sample is classified confidently (low entropy of p(y|x)) *and* the samples
cover all classes (high entropy of p(y)): it ranges from 1 (all samples alike or unrecognisable)
to the number of classes (10 for MNIST). It equals ``diversity / exp(E[H(p(y|x))])`` where
``diversity = exp(H(p(y)))`` is the effective number of classes produced; both parts are
reported beside it (with the mean top-class confidence) so a low score can be read.
Real validation images give the reference value a perfect generator would approach.

The classifier is trained once per dataset (on its training images, 300 Adam steps, fixed seed)
and cached in memory for the process and on disk as a plain ``state_dict`` under
``$HPT_CACHE_DIR/classifiers`` (default ``~/.cache/hpt``), read back with ``weights_only=True``.
"""

from __future__ import annotations

import io
import logging
import os
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from hpt.data import MNIST_MEAN, MNIST_STD, Split
from hpt.generative.models import ScoreNet
from hpt.rundir import atomic_write_bytes
from hpt.training.loop import Update

log = logging.getLogger("hpt")
VERSION = 2  # bump when ScoreNet or its training changes: old cache files are then ignored
TRAIN_STEPS, TRAIN_BATCH, TRAIN_LR, TRAIN_SEED = 300, 128, 2e-3, 0
_memory: dict[str, dict[str, torch.Tensor]] = {}  # key -> CPU state_dict, for sweep workers


def cache_dir() -> Path:
    return Path(os.environ.get("HPT_CACHE_DIR") or "~/.cache/hpt").expanduser() / "classifiers"


def cache_key(dataset: str, subset: int | None, n_train: int, num_classes: int) -> str:
    """What the classifier's weights depend on: the dataset, its size, the classes, the recipe."""
    size = f"{subset if subset is not None else 'all'}-n{n_train}"
    return f"{dataset}-{size}-c{num_classes}-s{TRAIN_STEPS}-v{VERSION}"


def normalise(images: torch.Tensor) -> torch.Tensor:
    """[0, 1] pixels -> the normalisation hpt's MNIST classifiers see."""
    return (images - MNIST_MEAN) / MNIST_STD


def inception_score(probs: torch.Tensor) -> dict[str, float]:
    """``score``, ``confidence`` (mean top-class probability) and ``diversity`` of class
    probabilities (N, K)."""
    probs = probs.double().clamp_min(1e-12)
    marginal = probs.mean(0)
    kl = (probs * (probs.log() - marginal.log())).sum(1).mean()
    diversity = torch.exp(-(marginal * marginal.log()).sum())
    score, conf, div = torch.stack(
        [kl.exp(), probs.max(1).values.mean(), diversity]
    ).tolist()  # one host sync
    return {"score": score, "confidence": conf, "diversity": div}


@dataclass
class Scorer:
    """A frozen classifier on the run's device; ``score`` takes images as [0, 1] pixels."""

    net: ScoreNet
    batch_size: int
    key: str
    test_acc: float

    @torch.no_grad()
    def probs(self, images: torch.Tensor) -> torch.Tensor:
        out = [
            F.softmax(self.net(normalise(images[i : i + self.batch_size].float())).float(), dim=1)
            for i in range(0, len(images), self.batch_size)
        ]
        return torch.cat(out)

    def score(self, images: torch.Tensor) -> dict[str, float]:
        return inception_score(self.probs(images))


def load_scorer(
    key: str,
    net: ScoreNet,
    train: Split,
    test: Split,
    device: torch.device,
    batch_size: int,
    directory: Path | None = None,
) -> Scorer:
    """The cached classifier for ``key``: from memory, else from disk, else trained (and saved).

    Args:
        key: What the classifier was trained on (``cache_key``): the cache's file name.
        net: A fresh ``ScoreNet`` of the images' shape and classes; its weights are loaded
            from the cache or trained.
        train: The images ([0, 1] pixels, any device) and labels it learns from.
        test: The images and labels of its recorded ``test_acc``.
        device: Where it is trained and scores.
        batch_size: Images per forward pass when scoring.
        directory: The disk cache (None: ``cache_dir()``).

    Returns:
        The frozen scorer.
    """
    path = (directory or cache_dir()) / f"{key}.pt"
    state = _memory.get(key)
    if state is None and path.is_file():
        try:
            state = torch.load(path, map_location="cpu", weights_only=True)
        except Exception as exc:  # a torn or foreign file: retrain rather than fail the run
            log.warning("scorer cache %s unreadable (%s): retraining", path, type(exc).__name__)
    if state is not None:
        net.load_state_dict(state)
        net.to(device)
    else:
        net.to(device)
        _train(net, train.x.to(device), train.y.to(device), device)
        state = {k: v.detach().cpu().clone() for k, v in net.state_dict().items()}
        _save(path, state)
    _memory[key] = state
    net.eval().requires_grad_(False)
    scorer = Scorer(net, batch_size, key, test_acc=0.0)
    with torch.no_grad():
        logits = torch.cat(
            [
                net(normalise(test.x[i : i + batch_size].to(device)))
                for i in range(0, len(test.x), batch_size)
            ]
        )
    scorer.test_acc = (logits.argmax(1).cpu() == test.y.cpu()).float().mean().item()
    return scorer


def _train(net: ScoreNet, x: torch.Tensor, y: torch.Tensor, device: torch.device) -> None:
    # Its own RNG streams: whether the classifier came from the cache must not change the run.
    devices = [device] if device.type == "cuda" else []
    with torch.random.fork_rng(devices=devices):
        torch.manual_seed(TRAIN_SEED)
        for m in net.modules():
            if isinstance(m, nn.Conv2d | nn.Linear):
                m.reset_parameters()  # the same initial weights whatever the caller's RNG state
        gen = torch.Generator(device=device).manual_seed(TRAIN_SEED)
        update = Update(torch.optim.Adam(net.parameters(), lr=TRAIN_LR), "fp32", device)
        net.train()
        for _ in range(TRAIN_STEPS):
            idx = torch.randint(
                0, len(x), (min(TRAIN_BATCH, len(x)),), device=device, generator=gen
            )
            update.step(_loss, net, x[idx], y[idx])
    log.info(
        "scorer: trained a %d-parameter classifier for %d steps",
        sum(p.numel() for p in net.parameters()),
        TRAIN_STEPS,
    )


def _loss(net: ScoreNet, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    return F.cross_entropy(net(normalise(x)), y)


def _save(path: Path, state: dict[str, torch.Tensor]) -> None:
    """Written atomically: concurrent sweep workers may train and save the same key."""
    buf = io.BytesIO()
    torch.save(state, buf)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)  # the cache tree is this module's to make
        atomic_write_bytes(path, buf.getvalue())
    except OSError as exc:  # a read-only home: the in-memory cache still serves this process
        log.warning("scorer cache %s not written: %s", path, exc)
