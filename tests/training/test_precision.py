"""Device and precision choices (``hpt.training.precision``): what each setting resolves to on a CPU."""

from __future__ import annotations

import pytest
import torch

from hpt.errors import UserError
from hpt.training.precision import autocast, grad_scaler, resolve_device, resolve_precision

CPU = torch.device("cpu")


def test_auto_precision_is_fp32_on_the_cpu_and_explicit_choices_are_kept() -> None:
    assert resolve_precision("auto", CPU) == "fp32"
    assert resolve_precision("fp32", CPU) == "fp32"
    assert resolve_precision("bf16", CPU) == "bf16"


@pytest.mark.parametrize(
    ("name", "message"), [("fp16", "needs a CUDA device"), ("fp8", "not one of auto")]
)
def test_impossible_precisions_are_user_errors(name: str, message: str) -> None:
    with pytest.raises(UserError, match=message):
        resolve_precision(name, CPU)


def test_devices_resolve_or_fail_readably() -> None:
    assert resolve_device("cpu") == CPU
    assert resolve_device("auto").type == ("cuda" if torch.cuda.is_available() else "cpu")
    with pytest.raises(UserError, match="is not a device"):
        resolve_device("gpu-please")
    if not torch.cuda.is_available():
        with pytest.raises(UserError, match="no CUDA device"):
            resolve_device("cuda")


def test_autocast_runs_matmuls_in_bf16_and_fp32_stays_untouched() -> None:
    a, b = torch.randn(4, 4), torch.randn(4, 4)
    with autocast("bf16", CPU):
        assert (a @ b).dtype == torch.bfloat16
    with autocast("fp32", CPU):
        assert (a @ b).dtype == torch.float32


def test_the_loss_scaler_is_on_only_for_fp16() -> None:
    assert not grad_scaler("fp32", CPU).is_enabled()
    assert not grad_scaler("bf16", CPU).is_enabled()  # bf16 has fp32's exponent range


def test_a_small_cpu_step_runs_on_one_thread_and_a_large_one_keeps_torchs_count() -> None:
    import torch

    from hpt.training.precision import _DEFAULT_THREADS, SMALL_STEP, cpu_threads

    cpu = torch.device("cpu")
    try:
        assert cpu_threads(cpu, 20_000, 32) == 1 == torch.get_num_threads()  # a table's MLP
        assert cpu_threads(cpu, SMALL_STEP, 1) == _DEFAULT_THREADS == torch.get_num_threads()
    finally:
        torch.set_num_threads(_DEFAULT_THREADS)
