"""Device and mixed-precision choices, resolved once per run (Lightning Fabric's amp in brief)."""

from __future__ import annotations

import contextlib

import torch

from hpt.errors import UserError

DTYPES = {"fp32": torch.float32, "bf16": torch.bfloat16, "fp16": torch.float16}


def resolve_device(spec: str) -> torch.device:
    """``auto`` (CUDA when there is one, else CPU), ``cpu``, ``cuda`` or ``cuda:N`` as a device.

    Raises:
        UserError: The spec names no device, or one this machine does not have.
    """
    if spec == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(spec)
    except RuntimeError:
        raise UserError(
            f"trainer.device={spec!r} is not a device: use auto, cpu, cuda or cuda:N"
        ) from None
    if device.type == "cuda":
        if not torch.cuda.is_available():
            raise UserError(
                f"trainer.device={spec} but no CUDA device is available: "
                "use trainer.device=cpu or auto"
            )
        if device.index is not None and device.index >= torch.cuda.device_count():
            raise UserError(
                f"trainer.device={spec} but only "
                f"{torch.cuda.device_count()} CUDA device(s) are visible"
            )
    elif device.type != "cpu":
        raise UserError(f"trainer.device={spec!r} is not supported: use auto, cpu, cuda or cuda:N")
    return device


def resolve_precision(name: str, device: torch.device) -> str:
    """``auto`` is bf16 on GPUs that have it, fp16 on older GPUs, fp32 on CPU."""
    if name == "auto":
        if device.type == "cuda":
            return "bf16" if torch.cuda.is_bf16_supported() else "fp16"
        return "fp32"
    if name not in DTYPES:
        raise UserError(f"trainer.precision={name!r} is not one of auto, fp32, bf16, fp16")
    if name == "fp16" and device.type != "cuda":
        raise UserError("trainer.precision=fp16 needs a CUDA device (use bf16 or fp32 on CPU)")
    return name


def autocast(precision: str, device: torch.device) -> contextlib.AbstractContextManager[None]:
    """``torch.autocast`` for bf16/fp16 on the device; a no-op context for fp32."""
    if precision == "fp32":
        return contextlib.nullcontext()
    return torch.autocast(device_type=device.type, dtype=DTYPES[precision])


def grad_scaler(precision: str, device: torch.device) -> torch.amp.GradScaler:
    """A GradScaler, enabled only for fp16 (bf16 and fp32 need none)."""
    # Loss scaling only matters for fp16's narrow exponent; bf16 has fp32's range.
    return torch.amp.GradScaler(device.type, enabled=precision == "fp16")


def configure_backends(device: torch.device, deterministic: bool, seed: int) -> None:
    """Seeds, TF32 on CUDA, and deterministic algorithms when asked, once per run."""
    torch.manual_seed(seed)
    if device.type == "cuda":
        torch.backends.cuda.matmul.allow_tf32 = (
            True  # TF32 on: free speed for fp32 matmuls on Ampere+
        )
        torch.backends.cudnn.allow_tf32 = True
        torch.backends.cudnn.benchmark = not deterministic
    if deterministic:
        torch.use_deterministic_algorithms(True, warn_only=True)


# A CPU step smaller than this (parameters x batch rows, about its multiply-adds) runs on one
# thread: a table's MLP (20k parameters, batch 32) took 0.6 ms a step on one thread and 11 ms
# on two on this 2-core machine under load, where OpenMP's threads wait for busy cores
# (BENCHMARKS.md, "threads for small models"). Larger steps keep torch's own thread count.
SMALL_STEP = 4_000_000
_DEFAULT_THREADS = torch.get_num_threads()  # as the process started (OMP_NUM_THREADS)


def share_cores(threads: int) -> int:
    """This process's default intra-op threads from now on (a sweep's in-process worker takes
    its share of the cores, as its spawned peers do through ``OMP_NUM_THREADS``); returns the
    previous default."""
    global _DEFAULT_THREADS
    previous, _DEFAULT_THREADS = _DEFAULT_THREADS, threads
    torch.set_num_threads(threads)
    return previous


def cpu_threads(device: torch.device, n_params: int, batch_size: int) -> int:
    """Set and return the intra-op threads of a CPU run: 1 for a small step, else the default."""
    threads = 1 if device.type == "cpu" and n_params * batch_size < SMALL_STEP else _DEFAULT_THREADS
    if torch.get_num_threads() != threads:
        torch.set_num_threads(threads)
    return threads
