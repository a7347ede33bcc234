"""Sample image grids in the run directory: ``samples/epoch_XXX.png`` (and ``_recon`` for the
VAE)."""

from __future__ import annotations

import io
import math
from pathlib import Path

import torch

from hpt.rundir import atomic_write_bytes

SAMPLES = "samples"


def grid_path(run_dir: Path, epoch: int, suffix: str = "") -> Path:
    return run_dir / SAMPLES / f"epoch_{epoch:03d}{suffix}.png"


def save_grid(images: torch.Tensor, path: Path, nrow: int | None = None) -> None:
    """[0, 1] images (N, C, H, W) as one PNG grid, written atomically like every run file."""
    from torchvision.utils import save_image

    buf = io.BytesIO()
    nrow = nrow or max(1, math.isqrt(len(images)))
    save_image(images.detach().float().clamp(0, 1).cpu(), buf, nrow=nrow, padding=2, format="png")
    atomic_write_bytes(path, buf.getvalue())
