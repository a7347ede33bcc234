"""Post-training compression (``compress=prune|quantize|prune_quantize``): prune, fine-tune,
quantize, and measure what it cost and what it saved.

The stage runs after the best epoch's weights are loaded and the test set has been
evaluated, on a copy of the model (``checkpoints/best.pt`` stays the float model):

1. prune the Linear/Conv weights with ``torch.nn.utils.prune`` (one global magnitude
   threshold, or ``amount`` per layer; ``ln_structured`` zeroes whole output channels);
2. optionally fine-tune ``finetune_epochs`` epochs with ``hpt.training.loop.fit`` on the same data.
   The pruning reparametrization (``weight = weight_orig * weight_mask``) is still in place
   then, so the pruned weights stay zero while the others adapt;
3. ``prune.remove`` makes the zeros permanent (plain ``weight`` tensors again);
4. optionally quantize the Linear layers to INT8 with ``quantize_dynamic`` (CPU only);
5. evaluate on validation and test, count (non-zero) parameters, serialize the state_dict
   for its size, and time CPU inference.

Dense storage does not shrink with unstructured sparsity: ``size_bytes`` drops only with
quantization, ``zipped_bytes`` (zlib of the same bytes) shows what the zeros are worth on
disk, and ``nonzero_params`` counts what a sparse format would store.
"""

from __future__ import annotations

import copy
import dataclasses
import inspect
import io
import os
import statistics
import time
import warnings
import zlib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import torch
from omegaconf import OmegaConf
from torch import nn
from torch.nn.utils import prune

from hpt.config.schema import CompressConfig, plain
from hpt.data import Dataset, Split
from hpt.errors import UserError
from hpt.schedulers import Schedule
from hpt.training.loop import evaluate, fit, unwrap
from hpt.training.loop_types import LoopSettings, Parts

COMPRESSED = "checkpoints/compressed.pt"
PRUNABLE = (nn.Linear, nn.Conv1d, nn.Conv2d, nn.Conv3d)
# what a compress/* objective may name besides the validation metrics
MEASURES = ("params", "nonzero_params", "sparsity", "size_bytes", "zipped_bytes", "cpu_latency_ms")


def checked(conf: Mapping[str, Any] | None, *, needed: bool = False) -> CompressConfig | None:
    """The stage's settings (``CompressConfig``, typed at composition), checked.

    Args:
        conf: ``cfg.compress`` (None: the defaults).
        needed: An objective names ``compress/*``: the stage runs even for ``compress=none``
            (measuring the float model, a sweep's uncompressed reference).

    Returns:
        The settings, or None when there is no stage to run (``UserError``: a bad setting).
    """
    merged = OmegaConf.merge(OmegaConf.structured(CompressConfig), conf or {})
    spec = OmegaConf.to_object(merged)
    assert isinstance(spec, CompressConfig)
    method = plain(spec.method)
    if method != "none" and not 0.0 < spec.amount < 1.0:
        raise UserError(f"compress.amount must be between 0 and 1 (exclusive), got {spec.amount}")
    if spec.scope not in ("global", "layer"):
        raise UserError(f"compress.scope must be global or layer, got {spec.scope!r}")
    if spec.finetune_epochs < 0 or spec.latency_batch < 1 or spec.latency_threads < 1:
        raise UserError(
            "compress.finetune_epochs must be >= 0, "
            "compress.latency_batch and compress.latency_threads >= 1"
        )
    if method == "none" and not spec.quantize and not needed:
        return None
    return spec


def prune_model(
    model: nn.Module, method: str, amount: float, scope: str
) -> list[tuple[nn.Module, str]]:
    """Attach pruning masks (reparametrized, not yet permanent).

    Args:
        model: The model, pruned in place.
        method: ``l1_unstructured``, ``random_unstructured`` or ``ln_structured``.
        amount: The share of the weights (or output channels) to zero.
        scope: ``global`` (one threshold over every layer) or ``layer`` (``amount`` each).

    Returns:
        The pruned ``(module, "weight")`` pairs.

    Raises:
        UserError: The model has no Linear or Conv layer.
    """
    modules = [m for m in model.modules() if isinstance(m, PRUNABLE)]
    if not modules:
        raise UserError("compress: the model has no Linear or Conv layers to prune")
    targets: list[tuple[nn.Module, str]] = [(m, "weight") for m in modules]
    if method == "ln_structured":
        # Zeroing output channels of the last layer would delete classes: it keeps all of them.
        targets = targets[:-1] or targets
        for m, name in targets:
            prune.ln_structured(m, name, amount=amount, n=2, dim=0)
    elif scope == "global":
        kind = prune.L1Unstructured if method == "l1_unstructured" else prune.RandomUnstructured
        prune.global_unstructured(targets, pruning_method=kind, amount=amount)
    else:
        for m, name in targets:
            (prune.l1_unstructured if method == "l1_unstructured" else prune.random_unstructured)(
                m, name, amount=amount
            )
    return targets


def make_permanent(targets: list[tuple[nn.Module, str]]) -> None:
    """Remove the pruning reparametrization: the zeros stay, as plain ``weight`` tensors."""
    for m, name in targets:
        if prune.is_pruned(m):
            prune.remove(m, name)


def quantize(model: nn.Module) -> nn.Module:
    """INT8 weights for every Linear, activations quantized per batch; CPU inference only."""
    from torch.ao.quantization import quantize_dynamic

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch.ao.quantization's deprecation notice (torchao)
        return quantize_dynamic(model.float().cpu().eval(), {nn.Linear}, dtype=torch.qint8)


def _weights(model: nn.Module) -> Iterator[torch.Tensor]:
    """Every weight and bias as a float tensor, packed INT8 Linear layers included."""
    for m in model.modules():
        weight, bias = getattr(m, "weight", None), getattr(m, "bias", None)
        if (
            hasattr(m, "_packed_params") and callable(weight) and callable(bias)
        ):  # a dynamic INT8 Linear
            yield weight().dequantize()
            b = bias()
            if b is not None:
                yield b
    yield from model.parameters()


def serialized_bytes(model: nn.Module) -> bytes:
    """``model``'s state_dict as ``torch.save`` writes it (its size on disk)."""
    buf = io.BytesIO()
    torch.save(model.state_dict(), buf)
    return buf.getvalue()


def footprint(
    model: nn.Module, targets: list[tuple[nn.Module, str]] | None = None
) -> dict[str, Any]:
    """Parameter counts, sparsity of the pruned weights, and the serialized state_dict's size."""
    tensors = [t.detach() for t in _weights(model)]
    blob = serialized_bytes(model)
    out: dict[str, Any] = {
        "params": sum(t.numel() for t in tensors),
        "nonzero_params": int(sum(int(torch.count_nonzero(t)) for t in tensors)),
        "size_bytes": len(blob),
        "zipped_bytes": len(zlib.compress(blob, 6)),
    }
    if targets:
        pruned = [getattr(m, name).detach() for m, name in targets]
        total = sum(t.numel() for t in pruned)
        out["sparsity"] = 1.0 - sum(int(torch.count_nonzero(t)) for t in pruned) / max(total, 1)
    else:
        out["sparsity"] = 1.0 - out["nonzero_params"] / max(out["params"], 1)
    return out


@torch.inference_mode()
def cpu_latency_ms(
    model: nn.Module,
    example: torch.Tensor,
    *,
    threads: int = 1,
    budget_s: float = 2.0,
    max_iters: int = 50,
) -> float:
    """Median wall time of one CPU forward pass on ``example`` (after warm-up), in ms."""
    model = model.eval()
    old = torch.get_num_threads()
    torch.set_num_threads(threads)  # fixed threads: comparable across runs and workers
    try:
        for _ in range(3):
            model(example)
        times: list[float] = []
        start = time.perf_counter()
        while len(times) < max_iters and (len(times) < 5 or time.perf_counter() - start < budget_s):
            t0 = time.perf_counter()
            model(example)
            times.append((time.perf_counter() - t0) * 1000)
    finally:
        torch.set_num_threads(old)
    return statistics.median(times)


def _example(split: Split, batch: int) -> torch.Tensor:
    x = split.x[:batch].detach().to("cpu", torch.float32)
    reps = -(-batch // max(len(x), 1))
    return x.repeat(reps, *([1] * (x.dim() - 1)))[:batch].contiguous()


def _on_cpu(s: LoopSettings) -> LoopSettings:
    return dataclasses.replace(
        s, device=torch.device("cpu"), precision="fp32", channels_last=False, data_on_device=True
    )


def _finetune_optimizer(
    optimizer: torch.optim.Optimizer, params: Iterator[nn.Parameter], factor: float
) -> torch.optim.Optimizer:
    """A fresh optimizer of the run's kind and settings (no state), at ``lr * factor``."""
    accepted = inspect.signature(type(optimizer).__init__).parameters
    kwargs = {k: v for k, v in optimizer.defaults.items() if k in accepted}
    kwargs["lr"] = float(optimizer.defaults["lr"]) * factor
    return type(optimizer)(params, **kwargs)


@dataclass
class Compressed:
    model: nn.Module
    record: dict[str, Any]


def compress(
    model: nn.Module,
    data: Dataset,
    loss_fn: nn.Module,
    s: LoopSettings,
    spec: CompressConfig,
    optimizer: torch.optim.Optimizer,
) -> Compressed:
    """Compress a copy of ``model`` (its best weights loaded) and measure it beside the original.

    Args:
        model: The trained model (possibly under ``torch.compile``); it is left as it is.
        data: The run's splits: fine-tuning trains on ``train``, both models are measured on
            ``val`` and ``test``.
        loss_fn: The training loss.
        s: The loop's settings.
        spec: The stage's settings (``checked``).
        optimizer: The run's, whose kind and settings fine-tune the pruned copy (fresh state).

    Returns:
        The compressed copy and its record (``baseline``: the same measures of the original).
    """
    work = copy.deepcopy(unwrap(model))  # the module under torch.compile
    method = str(plain(spec.method))
    example = _example(data.val, spec.latency_batch)
    base = _baseline(model, data, loss_fn, s, spec, example)
    pruning = method != "none"
    record: dict[str, Any] = {
        "method": method,
        "amount": spec.amount if pruning else 0.0,
        "scope": spec.scope,
        "quantized": spec.quantize,
        "finetune_epochs": spec.finetune_epochs if pruning else 0,
        "latency_batch": spec.latency_batch,
        "latency_threads": spec.latency_threads,
    }
    if not pruning and not spec.quantize:
        # Here only for a compress/* objective: the float model as it is, the sweep's reference.
        record.update(base)
        record["baseline"] = dict(base)
        return Compressed(work, record)

    targets: list[tuple[nn.Module, str]] = []
    if pruning:
        targets, finetuned = _prune(work, data, loss_fn, s, spec, optimizer)
        if finetuned is not None:
            record["finetune"] = finetuned
    work, measured = _measured(work, targets, data, loss_fn, s, bool(spec.quantize))
    record.update(measured)
    cpu_model = work if spec.quantize else copy.deepcopy(work).float().cpu()
    record["cpu_latency_ms"] = cpu_latency_ms(cpu_model, example, threads=spec.latency_threads)
    record["baseline"] = base
    return Compressed(work, record)


def _baseline(
    model: nn.Module,
    data: Dataset,
    loss_fn: nn.Module,
    s: LoopSettings,
    spec: CompressConfig,
    example: torch.Tensor,
) -> dict[str, Any]:
    """The original model's footprint, CPU latency and validation and test metrics."""
    base_cpu = copy.deepcopy(unwrap(model)).float().cpu()
    base = {
        **footprint(base_cpu),
        "cpu_latency_ms": cpu_latency_ms(base_cpu, example, threads=spec.latency_threads),
    }
    for split, prefix in ((data.val, "val"), (data.test, "test")):
        base.update(evaluate(model, split, loss_fn, s, prefix))
    return base


def _prune(
    work: nn.Module,
    data: Dataset,
    loss_fn: nn.Module,
    s: LoopSettings,
    spec: CompressConfig,
    optimizer: torch.optim.Optimizer,
) -> tuple[list[tuple[nn.Module, str]], dict[str, Any] | None]:
    """Prune ``work`` in place, fine-tune it if asked, and make the zeros permanent.

    Returns the pruned ``(module, name)`` pairs and the fine-tuning's record (None: none).
    """
    torch.manual_seed(s.seed)  # random_unstructured draws from the global generator
    targets = prune_model(work, str(plain(spec.method)), spec.amount, spec.scope)
    finetuned: dict[str, Any] | None = None
    if spec.finetune_epochs > 0:
        ft_settings = dataclasses.replace(s, epochs=spec.finetune_epochs)
        ft_opt = _finetune_optimizer(optimizer, work.parameters(), spec.finetune_lr_factor)
        tuned = fit(Parts(work, ft_opt, Schedule(None, "epoch"), data, loss_fn, ft_settings))
        if tuned.status == "COMPLETE" and tuned.best_state is not None:
            work.load_state_dict(tuned.best_state)  # the best fine-tuning epoch on validation
        finetuned = {
            "status": tuned.status,
            "epochs": len(tuned.history),
            "best": tuned.best,
            "error": tuned.error,
        }
    make_permanent(targets)
    return targets, finetuned


def _measured(
    work: nn.Module,
    targets: list[tuple[nn.Module, str]],
    data: Dataset,
    loss_fn: nn.Module,
    s: LoopSettings,
    quantized: bool,
) -> tuple[nn.Module, dict[str, Any]]:
    """``work`` (quantized to INT8 if asked), its footprint and its validation and test metrics."""
    if quantized:
        counts = footprint(work, targets)  # zeros before INT8 rounding: the sparsity pruning made
        work = quantize(work)
        eval_settings, split_device = _on_cpu(s), torch.device("cpu")
        measured = footprint(work)
        measured["sparsity"] = counts["sparsity"]
    else:
        eval_settings, split_device = s, s.device
        measured = footprint(work, targets)
    for split, prefix in ((data.val, "val"), (data.test, "test")):
        on = split.to(split_device) if split.x.device != split_device else split
        measured.update(evaluate(work, on, loss_fn, eval_settings, prefix))
    return work, measured


def objective_values(record: Mapping[str, Any]) -> dict[str, float]:
    """``compress/*`` values for multi-objective sweeps: ``val/acc`` -> ``compress/val_acc``."""
    out: dict[str, float] = {}
    for key, value in record.items():
        if isinstance(value, bool) or not isinstance(value, int | float):
            continue
        if key.startswith("val/"):
            out[f"compress/val_{key[4:]}"] = float(value)
        elif key in MEASURES:
            out[f"compress/{key}"] = float(value)
    return out


def load_compressed(
    model: nn.Module, path: str | os.PathLike[str], *, quantized: bool
) -> nn.Module:
    """Load ``checkpoints/compressed.pt`` into a freshly built model of the same config.

    Args:
        model: The float model, built from the run's config.
        path: The compressed checkpoint.
        quantized: Whether it holds INT8 layers: the float model is quantized first (its
            values are then replaced by the file's).

    Returns:
        The model with the checkpoint's weights.
    """
    target = quantize(model) if quantized else model
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch's INT8 tensor rebuild warns about TypedStorage
        state = torch.load(path, map_location="cpu", weights_only=True)
    target.load_state_dict(state)
    return target
