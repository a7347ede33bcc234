"""Shared fixtures. Plain helpers live in the ``tests/helpers`` package (``from helpers import ...``).

Tests that need real MNIST take the ``mnist_root`` fixture, which skips when the files are not there.
"""

from __future__ import annotations

import signal
from collections.abc import Callable
from pathlib import Path

import pytest
from helpers import CliResult, compose_config, find_mnist_root, run_cli
from omegaconf import DictConfig


def pytest_configure(config: pytest.Config) -> None:
    """Let Ctrl-C reach the processes the tests start, however pytest itself was started.

    A shell starts a background job (``make test &``, ``nohup``) with SIGINT ignored, and an
    ignored signal stays ignored in every child: ``hpt`` would then never see the Ctrl-C that
    the interrupt tests send it. A handled signal is reset to the default in a child.
    """
    if signal.getsignal(signal.SIGINT) == signal.SIG_IGN:
        signal.signal(signal.SIGINT, signal.default_int_handler)


@pytest.fixture
def compose_cfg() -> Callable[..., DictConfig]:
    return compose_config


@pytest.fixture
def cli(tmp_path: Path) -> Callable[..., CliResult]:
    def _cli(*args: str, env: dict[str, str] | None = None) -> CliResult:
        return run_cli(args, tmp_path, env=env)

    return _cli


@pytest.fixture(scope="session")
def mnist_root() -> Path:
    """The folder holding ``MNIST/raw`` (``HPT_DATA_DIR`` or ``../shared/datasets``), else skip."""
    root = find_mnist_root()
    if root is None:
        pytest.skip("real MNIST not found: set HPT_DATA_DIR to a folder holding MNIST/raw")
    return root
