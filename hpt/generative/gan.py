"""The GAN's epoch: alternating discriminator and generator steps with the non-saturating loss.

Discriminator: minimise BCE(D(x), 1) + BCE(D(G(z)), 0). Generator: minimise BCE(D(G(z)), 1),
i.e. maximise log D(G(z)) (Goodfellow et al.'s non-saturating form, which keeps gradients
alive early, when D rejects every sample). Losses sum on the device; the host reads them
once per epoch. Validation scores samples of a fixed noise batch, so epochs and trials compare.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import torch
import torch.nn.functional as F

from hpt.data import tensor_batches
from hpt.generative.build import GenerativeRun, GenSettings
from hpt.generative.models import GAN
from hpt.generative.samples import grid_path, save_grid
from hpt.generative.scorer import Scorer
from hpt.training.loop import Update
from hpt.training.loop_types import Metrics
from hpt.training.precision import autocast

# Noise streams, offset from the run's seed: one per purpose, so changing one changes no other.
TRAIN_NOISE, VAL_NOISE, TEST_NOISE = 1, 2, 3


def _bce(logits: torch.Tensor, target: float) -> torch.Tensor:
    return F.binary_cross_entropy_with_logits(
        logits.float(), torch.full_like(logits, target, dtype=torch.float32)
    )


def _noise(n: int, latent_dim: int, s: GenSettings, stream: int) -> torch.Tensor:
    gen = torch.Generator(device=s.device).manual_seed(s.seed * 1000 + stream)
    return torch.randn(n, latent_dim, device=s.device, generator=gen)


@torch.no_grad()
def generate(model: GAN, z: torch.Tensor, s: GenSettings) -> torch.Tensor:
    """Generator samples as [0, 1] pixels, in eval mode (batch norm uses its running statistics)."""
    was_training = model.training
    model.eval()
    out = []
    for i in range(0, len(z), s.eval_batch_size):
        with autocast(s.precision, s.device):
            out.append(model.generator(z[i : i + s.eval_batch_size]).float())
    model.train(was_training)
    return (torch.cat(out) + 1) / 2


@torch.no_grad()
def _d_loss(model: GAN, real: torch.Tensor, fake: torch.Tensor, s: GenSettings) -> torch.Tensor:
    """The discriminator's loss on held-out real images and as many samples ([0, 1] pixels)."""
    total = torch.zeros((), device=s.device)
    n = min(len(real), len(fake))
    for i in range(0, n, s.eval_batch_size):
        j = min(i + s.eval_batch_size, n)
        with autocast(s.precision, s.device):
            d_real = model.discriminator(real[i:j] * 2 - 1)
            d_fake = model.discriminator(fake[i:j] * 2 - 1)
        total += (_bce(d_real, 1.0) + _bce(d_fake, 0.0)) * (j - i)
    return total / max(n, 1)


def score_samples(
    model: GAN, scorer: Scorer, z: torch.Tensor, s: GenSettings, prefix: str
) -> tuple[Metrics, torch.Tensor]:
    fake = generate(model, z, s)
    return {f"{prefix}/{k}": v for k, v in scorer.score(fake).items()}, fake


def _d_train_loss(D: torch.nn.Module, real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
    # detach: this step updates D only; G's graph is kept for its own step
    return _bce(D(real), 1.0) + _bce(D(fake.detach()), 0.0)


def _g_train_loss(D: torch.nn.Module, fake: torch.Tensor) -> torch.Tensor:
    return _bce(D(fake), 1.0)  # non-saturating: maximise log D(G(z))


def gan_epoch_fn(
    run: GenerativeRun, run_dir: Path, on_step: Callable[[int], None] | None = None
) -> Callable[[int], Metrics]:
    """A closure that trains one epoch, scores the fixed noise batch and saves its grid."""
    model, s, scorer = run.model, run.settings, run.scorer
    assert isinstance(model, GAN) and scorer is not None
    g_opt, d_opt = run.optimizers["g"], run.optimizers["d"]
    # One update (and loss scaler) per optimizer: each loss has its own scale.
    g_update = Update(g_opt, s.precision, s.device)
    d_update = Update(d_opt, s.precision, s.device)
    gen = torch.Generator(device=s.device).manual_seed(s.seed * 1000 + TRAIN_NOISE)
    z_val = _noise(s.score_samples, model.latent_dim, s, VAL_NOISE)
    G, D = model.generator, model.discriminator

    def epoch_fn(epoch: int) -> Metrics:
        t0 = time.perf_counter()
        sums = torch.zeros(2, device=s.device)  # d_loss, g_loss
        steps = 0
        model.train()
        for x, _ in tensor_batches(
            run.data.train, s.batch_size, shuffle=True, generator=gen, drop_last=True
        ):
            real = x * 2 - 1  # [0, 1] -> tanh's range
            z = torch.randn(len(real), model.latent_dim, device=s.device, generator=gen)
            with autocast(s.precision, s.device):
                fake = G(z)
            d_loss = d_update.step(_d_train_loss, D, real, fake)
            D.requires_grad_(False)  # the generator step needs gradients through D, not for D
            g_loss = g_update.step(_g_train_loss, D, fake)
            D.requires_grad_(True)
            sums += torch.stack([d_loss, g_loss])
            steps += 1
            if on_step is not None:
                on_step(steps)
        d_mean, g_mean = (sums / max(steps, 1)).tolist()  # one host sync per epoch
        train_time = time.perf_counter() - t0

        val, fake = score_samples(model, scorer, z_val, s, "val")
        val["val/d_loss"] = _d_loss(model, run.data.val.x[: s.score_samples], fake, s).item()
        save_grid(fake[: s.grid], grid_path(run_dir, epoch))
        return {
            "train/loss": g_mean,
            "train/d_loss": d_mean,
            "train/g_loss": g_mean,
            **val,
            "lr": g_opt.param_groups[0]["lr"],
            "lr/d": d_opt.param_groups[0]["lr"],
            "throughput/samples_per_s": steps * s.batch_size / max(train_time, 1e-9),
        }

    return epoch_fn


def gan_test(run: GenerativeRun) -> Metrics:
    """The best generator scored on fresh noise: the selection used the fixed validation batch."""
    assert isinstance(run.model, GAN) and run.scorer is not None
    z = _noise(run.settings.score_samples, run.model.latent_dim, run.settings, TEST_NOISE)
    return score_samples(run.model, run.scorer, z, run.settings, "test")[0]
