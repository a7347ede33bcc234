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


def test_discarding_a_refused_run_detaches_the_log_file_handlers_inside_it(tmp_path: Path) -> None:
    import logging

    from hpt.rundir import discard_refused

    run = tmp_path / "run"
    (run / ".hydra").mkdir(parents=True)
    (run / "result.json").write_text('{"status": "FAIL"}')
    handler = logging.FileHandler(run / "hpt.log", delay=True)
    logger = logging.getLogger("hpt.test_discard")
    logger.addHandler(handler)
    try:
        assert discard_refused(run) and not run.exists()
        assert handler not in logger.handlers
        logger.warning("after the run dir is gone")  # opened the removed file before
    finally:
        logger.removeHandler(handler)
