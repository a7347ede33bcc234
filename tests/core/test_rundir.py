"""Output to a device: ``hpt summarize -o /dev/null``, ``--plots /dev/null`` and the like write
into it. The atomic writer's rename over it would replace ``/dev/null`` with a plain file for
the whole machine when run as root (it did, once, on a development machine)."""

from __future__ import annotations

from pathlib import Path

from hpt.rundir import atomic_write_json, atomic_write_text


def test_an_atomic_write_to_dev_null_leaves_the_device_a_device() -> None:
    atomic_write_text("/dev/null", "discarded\n")
    atomic_write_json("/dev/null", {"discarded": True})
    assert Path("/dev/null").is_char_device()
    assert Path("/dev/null").read_bytes() == b""
