"""The VAE's epoch: minimise the negative ELBO, recon + beta * KL, per image.

recon = BCE-with-logits of the decoded logits against the [0, 1] pixels, summed over pixels;
KL = KL(N(mu, sigma^2) || N(0, I)) in closed form. Validation reports the true negative ELBO
(beta = 1 whatever the training beta) with reparameterisation noise from a fixed stream, so
the number is a deterministic function of the weights.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import torch
import torch.nn.functional as F

from hpt.data import Split, tensor_batches
from hpt.generative.build import GenerativeRun, GenSettings
from hpt.generative.models import VAE
from hpt.generative.samples import grid_path, save_grid
from hpt.training.loop import Update
from hpt.training.loop_types import Metrics
from hpt.training.precision import autocast

TRAIN_NOISE, EVAL_NOISE, PRIOR_NOISE = 1, 2, 3


def elbo_terms(
    model: VAE, x: torch.Tensor, s: GenSettings, eps: torch.Tensor | None = None
) -> tuple[torch.Tensor, torch.Tensor]:
    """Summed (over the batch) reconstruction and KL terms, in fp32 whatever the autocast."""
    with autocast(s.precision, s.device):
        logits, mu, logvar = model(x, eps)
    recon = F.binary_cross_entropy_with_logits(logits.float(), x, reduction="sum")
    mu, logvar = mu.float(), logvar.float()
    kl = -0.5 * (1 + logvar - mu.pow(2) - logvar.exp()).sum()
    return recon, kl


@torch.no_grad()
def evaluate_vae(model: VAE, split: Split, s: GenSettings, prefix: str) -> Metrics:
    """``{prefix}/loss`` (negative ELBO per image), ``/recon`` and ``/kl``; one host sync."""
    model.eval()
    gen = torch.Generator(device=s.device).manual_seed(s.seed * 1000 + EVAL_NOISE)
    sums = torch.zeros(2, device=s.device)
    for x, _ in tensor_batches(split, s.eval_batch_size, shuffle=False):
        eps = torch.randn(len(x), model.latent_dim, device=s.device, generator=gen)
        recon, kl = elbo_terms(model, x, s, eps)
        sums += torch.stack([recon, kl])
    model.train()
    recon_mean, kl_mean = (sums / max(len(split), 1)).tolist()
    return {
        f"{prefix}/loss": recon_mean + kl_mean,
        f"{prefix}/recon": recon_mean,
        f"{prefix}/kl": kl_mean,
    }


@torch.no_grad()
def save_vae_grids(model: VAE, split: Split, s: GenSettings, run_dir: Path, epoch: int) -> None:
    """Decoded prior samples (``epoch_XXX.png``) and originals above their reconstructions
    (``_recon``)."""
    model.eval()
    gen = torch.Generator(device=s.device).manual_seed(s.seed * 1000 + PRIOR_NOISE)
    z = torch.randn(s.grid, model.latent_dim, device=s.device, generator=gen)
    with autocast(s.precision, s.device):
        samples = torch.sigmoid(model.decode(z).float())
        x = split.x[: max(1, s.grid // 2)]
        recon = torch.sigmoid(model.decode(model.encode(x)[0]).float())  # the posterior mean
    model.train()
    save_grid(samples, grid_path(run_dir, epoch))
    nrow = min(len(x), 8)  # rows of 8 originals, each followed by its row of reconstructions
    pairs = torch.cat(
        [
            torch.stack([x[i : i + nrow], recon[i : i + nrow]]).flatten(0, 1)
            for i in range(0, len(x), nrow)
        ]
    )
    save_grid(pairs, grid_path(run_dir, epoch, "_recon"), nrow=nrow)


def _train_loss(model: VAE, x: torch.Tensor, s: GenSettings) -> torch.Tensor:
    recon, kl = elbo_terms(model, x, s)
    return (recon + s.beta * kl) / len(x)


def vae_epoch_fn(
    run: GenerativeRun, run_dir: Path, on_step: Callable[[int], None] | None = None
) -> Callable[[int], Metrics]:
    model, s = run.model, run.settings
    assert isinstance(model, VAE)
    opt = run.optimizers["vae"]
    update = Update(opt, s.precision, s.device)
    gen = torch.Generator(device=s.device).manual_seed(s.seed * 1000 + TRAIN_NOISE)

    def epoch_fn(epoch: int) -> Metrics:
        t0 = time.perf_counter()
        loss_sum = torch.zeros((), device=s.device)
        steps = 0
        model.train()
        for x, _ in tensor_batches(
            run.data.train, s.batch_size, shuffle=True, generator=gen, drop_last=True
        ):
            loss_sum += update.step(_train_loss, model, x, s)
            steps += 1
            if on_step is not None:
                on_step(steps)
        train_loss = loss_sum.item() / max(steps, 1)  # one host sync per epoch
        train_time = time.perf_counter() - t0
        metrics: Metrics = {"train/loss": train_loss, **evaluate_vae(model, run.data.val, s, "val")}
        save_vae_grids(model, run.data.val, s, run_dir, epoch)
        metrics["lr"] = opt.param_groups[0]["lr"]
        metrics["throughput/samples_per_s"] = steps * s.batch_size / max(train_time, 1e-9)
        return metrics

    return epoch_fn


def vae_test(run: GenerativeRun) -> Metrics:
    assert isinstance(run.model, VAE)
    return evaluate_vae(run.model, run.data.test, run.settings, "test")
