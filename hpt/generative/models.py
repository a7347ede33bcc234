"""The generative task's networks: a GAN (generator + discriminator), a VAE, and the scorer CNN.

Images enter and leave these modules as pixels: the GAN works in [-1, 1] (tanh output), the
VAE reads [0, 1] and returns logits of [0, 1] pixels, the scorer reads [0, 1].
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import nn

from hpt.errors import UserError


def _not_supervised(name: str, out_features: int | None) -> None:
    # `hpt train` builds `model` with out_features; these modules only make sense under task=<name>.
    if out_features is not None:
        raise UserError(
            f"{name} is a generative model: select it with task={name.lower()}, not as model="
        )


class Generator(nn.Module):
    """Noise (N, latent_dim) -> images (N, C, H, W) in [-1, 1]."""

    def __init__(self, arch: str, latent_dim: int, width: int, image_shape: Sequence[int]) -> None:
        super().__init__()
        c, h, w = image_shape
        self.image_shape = (c, h, w)
        if arch == "conv":
            # DCGAN: project to (2w, H/4, W/4), then two stride-2 transposed convolutions.
            self.net: nn.Sequential = nn.Sequential(
                nn.Linear(latent_dim, 2 * width * (h // 4) * (w // 4), bias=False),
                nn.Unflatten(1, (2 * width, h // 4, w // 4)),
                nn.BatchNorm2d(2 * width),
                nn.ReLU(inplace=True),
                nn.ConvTranspose2d(2 * width, width, 4, stride=2, padding=1, bias=False),
                nn.BatchNorm2d(width),
                nn.ReLU(inplace=True),
                nn.ConvTranspose2d(width, c, 4, stride=2, padding=1),
                nn.Tanh(),
            )
        else:
            hidden = 4 * width
            self.net = nn.Sequential(
                nn.Linear(latent_dim, hidden, bias=False),
                nn.BatchNorm1d(hidden),
                nn.ReLU(inplace=True),
                nn.Linear(hidden, 2 * hidden, bias=False),
                nn.BatchNorm1d(2 * hidden),
                nn.ReLU(inplace=True),
                nn.Linear(2 * hidden, c * h * w),
                nn.Tanh(),
                nn.Unflatten(1, (c, h, w)),
            )

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.net(z)


class Discriminator(nn.Module):
    """Images in [-1, 1] -> one logit each (real > 0). No batch norm: real and fake batches
    are seen separately, and batch statistics would let it tell them apart by the batch."""

    def __init__(self, arch: str, width: int, image_shape: Sequence[int]) -> None:
        super().__init__()
        c, h, w = image_shape
        if arch == "conv":
            self.net: nn.Sequential = nn.Sequential(
                nn.Conv2d(c, width, 4, stride=2, padding=1),
                nn.LeakyReLU(0.2, inplace=True),
                nn.Conv2d(width, 2 * width, 4, stride=2, padding=1),
                nn.LeakyReLU(0.2, inplace=True),
                nn.Flatten(),
                nn.Linear(2 * width * (h // 4) * (w // 4), 1),
            )
        else:
            hidden = 4 * width
            self.net = nn.Sequential(
                nn.Flatten(),
                nn.Linear(c * h * w, 2 * hidden),
                nn.LeakyReLU(0.2, inplace=True),
                nn.Linear(2 * hidden, hidden),
                nn.LeakyReLU(0.2, inplace=True),
                nn.Linear(hidden, 1),
            )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x).squeeze(1)


class GAN(nn.Module):
    """Generator and discriminator in one module, so one state_dict checkpoints both."""

    def __init__(
        self,
        arch: str = "conv",
        latent_dim: int = 64,
        width: int = 64,
        image_shape: Sequence[int] = (1, 28, 28),
        out_features: int | None = None,
    ) -> None:
        super().__init__()
        _not_supervised("GAN", out_features)
        if arch not in ("conv", "mlp"):
            raise UserError(f"task.model.arch must be conv or mlp, got {arch!r}")
        if latent_dim < 1 or width < 1:
            raise UserError("task.model.latent_dim and task.model.width must be >= 1")
        if len(image_shape) != 3 or (arch == "conv" and (image_shape[1] % 4 or image_shape[2] % 4)):
            raise UserError(
                "task=gan needs images of shape [C, H, W] (H, W divisible by 4 for conv), got "
                f"{list(image_shape)}"
            )
        self.latent_dim = latent_dim
        self.generator = Generator(arch, latent_dim, width, image_shape)
        self.discriminator = Discriminator(arch, width, image_shape)


class VAE(nn.Module):
    """MLP encoder q(z|x) = N(mu, exp(logvar)) and decoder p(x|z) = Bernoulli(logits)."""

    def __init__(
        self,
        latent_dim: int = 16,
        width: int = 400,
        depth: int = 1,
        image_shape: Sequence[int] = (1, 28, 28),
        out_features: int | None = None,
    ) -> None:
        super().__init__()
        _not_supervised("VAE", out_features)
        if latent_dim < 1 or width < 1 or depth < 1:
            raise UserError(
                "task.model.latent_dim, task.model.width and task.model.depth must be >= 1"
            )
        self.latent_dim = latent_dim
        self.image_shape = tuple(image_shape)
        n_pixels = math.prod(image_shape)
        self.encoder = nn.Sequential(
            nn.Flatten(), *_mlp(n_pixels, width, depth), nn.Linear(width, 2 * latent_dim)
        )
        self.decoder = nn.Sequential(
            *_mlp(latent_dim, width, depth),
            nn.Linear(width, n_pixels),
            nn.Unflatten(1, self.image_shape),
        )

    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        mu, logvar = self.encoder(x).chunk(2, dim=1)
        return mu, logvar

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """Pixel logits; ``sigmoid`` gives the Bernoulli means."""
        return self.decoder(z)

    def forward(
        self, x: torch.Tensor, eps: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Logits of the reconstruction, mu, logvar. ``eps`` fixes the reparameterisation noise
        (evaluation)."""
        mu, logvar = self.encode(x)
        if eps is None:
            eps = torch.randn_like(mu)
        z = mu + eps.to(mu.dtype) * torch.exp(0.5 * logvar)
        return self.decode(z), mu, logvar


def _mlp(n_in: int, width: int, depth: int) -> list[nn.Module]:
    layers: list[nn.Module] = []
    for i in range(depth):
        layers += [nn.Linear(n_in if i == 0 else width, width), nn.ReLU(inplace=True)]
    return layers


class ScoreNet(nn.Module):
    """The scorer: a tiny CNN classifier of normalised images (two strided convs, a linear head).

    Strided convolutions rather than pooling keep it cheap on a CPU: ~40M multiply-adds per
    128 images, and about 98% test accuracy on MNIST after a few hundred steps.
    """

    def __init__(self, image_shape: Sequence[int], num_classes: int) -> None:
        super().__init__()
        c, h, w = image_shape
        self.net = nn.Sequential(
            nn.Conv2d(c, 16, 5, stride=2, padding=2),
            nn.ReLU(inplace=True),
            nn.Conv2d(16, 32, 3, stride=2, padding=1),
            nn.ReLU(inplace=True),
            nn.Flatten(),
            nn.Linear(32 * ((h + 3) // 4) * ((w + 3) // 4), num_classes),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)
