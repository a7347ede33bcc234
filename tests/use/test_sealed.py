"""Checkpoints carry the sha256 of their bytes and are checked on load (``hpt.record``).

The damage that matters is the silent kind: 4 kB zeroed inside a tensor's data still loads
with plain ``torch.load`` (the test shows it does), and would train on from corrupted weights.
Every damaged file is refused with ``DamagedFileError`` naming it; nothing is returned.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest
import torch

from hpt.errors import DamagedFileError
from hpt.record import load_checkpoint, save_checkpoint


def _zero_4k_in_tensor_data(path: Path) -> None:
    raw = bytearray(path.read_bytes())
    start = raw.index(torch.full((1024,), 0.5).numpy().tobytes())  # the weight's own bytes
    raw[start + 4096 : start + 8192] = bytes(4096)
    path.write_bytes(bytes(raw))


DAMAGE: dict[str, Callable[[Path], None]] = {
    "truncated": lambda p: p.write_bytes(p.read_bytes()[: p.stat().st_size - 100]),
    "empty": lambda p: p.write_bytes(b""),
    "random": lambda p: p.write_bytes(os.urandom(p.stat().st_size)),
    "zeroed_4k": _zero_4k_in_tensor_data,
}


@pytest.mark.parametrize("damage", sorted(DAMAGE))
def test_a_damaged_checkpoint_is_refused_never_loaded(tmp_path: Path, damage: str) -> None:
    path = tmp_path / "checkpoints" / "best.pt"
    save_checkpoint(path, {"w": torch.full((4096,), 0.5), "b": torch.zeros(3)})
    assert torch.equal(load_checkpoint(path)["w"], torch.full((4096,), 0.5))
    DAMAGE[damage](path)
    with pytest.raises(DamagedFileError) as refused:
        load_checkpoint(path)
    message = str(refused.value)
    assert message.startswith(f"{path} is damaged: ") and "\n" not in message
    assert "weights_only" not in message


def test_zeroed_tensor_data_is_silent_to_torch_and_caught_by_the_checksum(tmp_path: Path) -> None:
    path = tmp_path / "best.pt"
    save_checkpoint(path, {"w": torch.full((4096,), 0.5)})
    _zero_4k_in_tensor_data(path)
    w = torch.load(path, weights_only=True)["w"]  # torch alone: loads, 1024 weights now 0
    assert int((w == 0).sum()) == 1024
    with pytest.raises(DamagedFileError, match="do not match the checksum"):
        load_checkpoint(path)
