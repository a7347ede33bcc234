"""Batches of a run's splits: sliced from tensors on the device, or through a DataLoader.

MNIST-sized data fits on any device, so it is held there as one tensor and a batch is
``x[perm[i:i+B]]`` (airbench's approach) instead of a per-sample DataLoader. A DataLoader
path remains for data that does not fit on the device. ``augment`` works on such batches.
"""

from __future__ import annotations

from collections.abc import Iterator

import torch

from hpt.data.splits import Split


def fits_on_device(nbytes: int, device: torch.device) -> bool:
    """Hold data on the device when it takes under a quarter of the free memory.

    Args:
        nbytes: The data's size (``Dataset.nbytes``).
        device: The training device.

    Returns:
        True off CUDA, else whether ``nbytes`` is under a quarter of the free memory.
    """
    if device.type != "cuda":
        return True
    free, _ = torch.cuda.mem_get_info(device)
    return nbytes < free // 4


def tensor_batches(
    split: Split,
    batch_size: int,
    *,
    shuffle: bool,
    generator: torch.Generator | None = None,
    drop_last: bool = False,
) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
    """Batches by slicing a permutation: no workers, no collation, no host sync.

    Args:
        split: The rows, already on the device.
        batch_size: Rows per batch (the last batch may be smaller).
        shuffle: Draw a fresh permutation (else the rows in order).
        generator: Drives the permutation (None: torch's default generator).
        drop_last: Leave out a last, smaller batch (when there is at least one full one).

    Yields:
        ``(x, y)`` batches.
    """
    n = len(split)
    if shuffle:
        idx = torch.randperm(n, device=split.x.device, generator=generator)
    stop = n - n % batch_size if drop_last and n >= batch_size else n
    for i in range(0, stop, batch_size):
        if shuffle:
            sel = idx[i : i + batch_size]
            yield split.x[sel], split.y[sel]
        else:
            yield split.x[i : i + batch_size], split.y[i : i + batch_size]


def loader_batches(
    split: Split,
    batch_size: int,
    *,
    shuffle: bool,
    device: torch.device,
    num_workers: int,
    seed: int,
) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
    """The DataLoader path, for data kept on the host: pinned memory, async copies.

    Args:
        split: The rows, on the host.
        batch_size: Rows per batch.
        shuffle: Shuffle (seeded) and drop a last, smaller batch.
        device: Where each batch is copied.
        num_workers: DataLoader worker processes.
        seed: Seeds the shuffling.

    Yields:
        ``(x, y)`` batches on ``device``.
    """
    from torch.utils.data import DataLoader, TensorDataset

    loader = DataLoader(
        TensorDataset(split.x, split.y),
        batch_size=batch_size,
        shuffle=shuffle,
        num_workers=num_workers,
        pin_memory=device.type == "cuda",
        drop_last=shuffle and len(split) >= batch_size,
        generator=torch.Generator().manual_seed(seed) if shuffle else None,
        persistent_workers=False,
    )
    for x, y in loader:
        yield x.to(device, non_blocking=True), y.to(device, non_blocking=True)


def augment(x: torch.Tensor, *, translate: int, hflip: bool, noise_std: float) -> torch.Tensor:
    """Batch-wise augmentation on tensors (on the device, vectorised per sample).

    Args:
        x: A batch; image batches are N×C×H×W.
        translate: Images: shift each by up to this many pixels (zero padding); 0 for none.
        hflip: Images: flip each horizontally with probability 1/2.
        noise_std: Add Gaussian noise of this standard deviation (any input); 0 for none.

    Returns:
        The augmented batch (``x`` itself when nothing applies).
    """
    if x.dim() == 4 and translate > 0:
        n, _, h, w = x.shape
        padded = torch.nn.functional.pad(x, (translate,) * 4)
        dy = torch.randint(0, 2 * translate + 1, (n,), device=x.device)
        dx = torch.randint(0, 2 * translate + 1, (n,), device=x.device)
        rows = (torch.arange(h, device=x.device)[None, :] + dy[:, None])[:, :, None]
        cols = (torch.arange(w, device=x.device)[None, :] + dx[:, None])[:, None, :]
        batch = torch.arange(n, device=x.device)[:, None, None]
        x = padded.permute(0, 2, 3, 1)[batch, rows, cols].permute(0, 3, 1, 2)
    if x.dim() == 4 and hflip:
        flip = torch.rand(x.shape[0], device=x.device) < 0.5
        x = torch.where(flip[:, None, None, None], x.flip(3), x)
    if noise_std > 0:
        x = x + noise_std * torch.randn_like(x)
    return x
