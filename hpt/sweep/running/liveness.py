"""Liveness while a trial runs: the heartbeat other workers read to spot a dead worker, the
check that ends a worker orphaned by its sweep process, and the per-trial time limit."""

from __future__ import annotations

import contextlib
import os
import signal
import threading
import time
from collections.abc import Iterator
from typing import Any

import optuna

from hpt.errors import TrialTimeoutError
from hpt.sweep.running import accounting


def parent_alive(parent: int) -> bool:
    """Whether the sweep process that spawned this worker still runs.

    A worker is re-parented when its parent dies, so comparing the parent pid works on every
    platform.

    Args:
        parent: The sweep process's id (0 or 1: no parent to watch).

    Returns:
        False once the parent is gone.
    """
    return parent <= 1 or os.getppid() == parent


@contextlib.contextmanager
def heartbeat(study: optuna.Study, trial_id: int, interval: float, parent: int) -> Iterator[None]:
    """Beat while the trial runs; end this worker if the sweep process that started it died.

    Args:
        study: The Optuna study.
        trial_id: The trial's storage id.
        interval: Seconds between heartbeats.
        parent: The sweep process's id (0: not watched).

    Yields:
        Nothing: the heartbeat runs while the block does.
    """
    stop = threading.Event()

    def loop() -> None:
        next_beat = time.monotonic() + interval
        while not stop.wait(min(interval, 1.0)):  # liveness each second, beats each interval
            if parent and not parent_alive(parent):
                # Orphaned by kill -9 of the sweep: the trial will be recovered as stale.
                os._exit(1)
            if time.monotonic() >= next_beat:
                next_beat = time.monotonic() + interval
                with contextlib.suppress(Exception):
                    accounting.beat(study, trial_id)

    thread = threading.Thread(target=loop, daemon=True, name="hpt-heartbeat")
    thread.start()
    try:
        yield
    finally:
        stop.set()


@contextlib.contextmanager
def time_limit(seconds: float | None) -> Iterator[None]:
    """Raise ``TrialTimeoutError`` in the trial once it runs past ``seconds``.

    SIGALRM is POSIX-only, and kept deliberately: it is the one way to raise a chosen exception
    inside the running trial's Python code. The portable alternative,
    ``_thread.interrupt_main`` from a timer thread, can only raise ``KeyboardInterrupt``, which
    the worker loop treats as the user's Ctrl-C (re-queue the trial and stop). Signal handlers
    run only on the main thread, so off it (a task run in a thread) no limit is set.

    Args:
        seconds: The limit (None or 0: none).

    Yields:
        Nothing: the limit holds while the block runs.
    """
    if not seconds or threading.current_thread() is not threading.main_thread():
        yield
        return

    def expire(signum: int, frame: Any) -> None:
        raise TrialTimeoutError(f"trial ran past trial_timeout={seconds:g}s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
