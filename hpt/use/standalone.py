"""The model of a run with its preprocessing inside, as one file (``hpt export``'s work).

``export(run_dir, file, fmt)`` traces ``Standalone`` (raw inputs in, the target's terms out)
to TorchScript, or to ONNX, and writes the sidecar JSON; see ``hpt.use.export`` for the contract.
"""

from __future__ import annotations

import io
import warnings
from pathlib import Path
from typing import Any

import torch
from torch import nn

from hpt.errors import UserError
from hpt.outputs import EXPORT_MARK, refuse_foreign_sidecar, refuse_record
from hpt.rundir import atomic_write_bytes, atomic_write_json
from hpt.use.preprocessing import Trained

FORMATS = ("torchscript", "onnx")  # also hpt.use.export's choices, which must not import torch


class Standalone(nn.Module):
    """The model between its input preprocessing and its output decoding, as tensors only."""

    mean: torch.Tensor
    std: torch.Tensor
    fill: torch.Tensor
    t_mean: torch.Tensor
    t_std: torch.Tensor

    def __init__(self, trained: Trained, model: nn.Module) -> None:
        super().__init__()
        self.model = model
        self.image, self.table = trained.kind == "image", trained.kind == "table"
        self.problem = trained.problem
        norm = trained.prep.get("normalise") or {}
        shape = [1, -1, 1, 1] if self.image else [1, -1]
        mean = torch.tensor(norm.get("mean", [0.0])).view(shape)
        std = torch.tensor(norm.get("std", [1.0])).view(shape)
        self.register_buffer("mean", mean)
        self.register_buffer("std", std)
        fill = torch.zeros(len(trained.prep["input"].get("columns", [])))
        if self.table:  # a missing (NaN) value becomes its training median, as in training
            i = 0
            for f in trained.prep["input"]["features"]:
                if f["kind"] == "numeric":
                    fill[i] = float(f["fill"])
                    i += 1
                else:
                    i += len(f["levels"])
        self.register_buffer("fill", fill)
        target = trained.prep.get("target") or {}
        scaled = self.problem == "regression" and target.get("scaling") == "standard"
        self.register_buffer("t_mean", torch.tensor(target["mean"] if scaled else [0.0]))
        self.register_buffer("t_std", torch.tensor(target["std"] if scaled else [1.0]))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Raw inputs -> class probabilities, or predictions in the target's units."""
        if self.image:
            x = x.float() / 255.0
        elif self.table:
            x = torch.where(torch.isnan(x), self.fill, x.float())
        else:
            x = x.float()
        out = self.model((x - self.mean) / self.std).float()
        if self.problem == "classification":
            return torch.softmax(out, dim=1)
        if self.problem == "binary":
            p = torch.sigmoid(out[:, :1])
            return torch.cat([1 - p, p], dim=1)
        return out * self.t_std + self.t_mean


def example(trained: Trained) -> torch.Tensor:
    """A batch of two raw inputs, the shape and dtype the exported file takes."""
    if trained.kind == "image":
        size, channels = trained.prep["input"]["size"], int(trained.prep["input"]["channels"])
        return torch.zeros(2, channels, *size, dtype=torch.uint8)
    if trained.kind == "table":
        return torch.zeros(2, len(trained.prep["input"]["columns"]))
    return torch.zeros(2, *trained.spec["in_shape"])


def sidecar(trained: Trained, file: Path, fmt: str, x: torch.Tensor) -> dict[str, Any]:
    """What the exported file takes and returns, for code that has only the file.

    Args:
        trained: The trained run.
        file: The exported model file.
        fmt: ``torchscript`` or ``onnx``.
        x: An example input (``example``).

    Returns:
        The sidecar JSON's content.
    """
    inputs: dict[str, Any] = {
        "name": "x",
        "dtype": str(x.dtype).removeprefix("torch."),
        "shape": ["batch", *x.shape[1:]],
    }
    if trained.kind == "table":
        inputs["columns"] = trained.prep["input"]["columns"]
        inputs["features"] = trained.prep["input"]["features"]
        inputs["missing"] = "NaN in a numeric column: filled with its training median"
    outputs: dict[str, Any] = {"name": "y"}
    if trained.problem == "regression":
        outputs.update(meaning="predictions in the target's units", target=trained.prep["target"])
    else:
        outputs.update(meaning="class probabilities", classes=trained.classes)
    return {
        "written_by": EXPORT_MARK,  # hpt export rewrites only a sidecar that says this
        "file": file.name,
        "format": fmt,
        "problem": trained.problem,
        "inputs": inputs,
        "outputs": outputs,
        "run_dir": str(trained.run_dir),
    }


def export(
    run_dir: str | Path, file: str | Path, fmt: str = "torchscript", *, trust_code: bool = False
) -> Path:
    """Write the run's model as ``file`` and its sidecar JSON.

    Args:
        run_dir: The run's directory.
        file: Where the model goes; the sidecar is the same name with ``.json``.
        fmt: ``torchscript`` or ``onnx``.
        trust_code: Import from the run's recorded project folder and call any ``_target_``
            it names (``hpt.use.trust``).

    Returns:
        The sidecar's path.

    Raises:
        UserError: An unknown format, a file name ending in ``.json``, no onnx package, or a
            file or sidecar that would replace a run's or sweep's record or a JSON file that
            export did not write.
    """
    if fmt not in FORMATS:
        raise UserError(f"--format {fmt}: use {' or '.join(FORMATS)}")
    out = Path(file)
    side = out.with_suffix(".json")
    if side == out:
        raise UserError(f"-o {out}: the sidecar is {side.name}; name the model file otherwise")
    refuse_record(out, "-o")
    refuse_record(side, f"-o {out}: its sidecar")
    refuse_foreign_sidecar(side, f"-o {out}")
    trained = Trained(run_dir, trust_code=trust_code)
    module = Standalone(trained, trained.model()).eval()
    x = example(trained)
    buf = io.BytesIO()
    with warnings.catch_warnings():
        # torch >= 2.9 marks TorchScript and its ONNX exporter deprecated; they still are the
        # formats plain torch and ONNX Runtime load with no extra package (torch.export's ONNX
        # path needs onnxscript)
        warnings.simplefilter("ignore", FutureWarning)
        warnings.simplefilter("ignore", DeprecationWarning)
        if fmt == "onnx":
            _onnx(module, x, buf)
        else:
            torch.jit.save(torch.jit.trace(module, x, check_trace=True), buf)
    Path(out).parent.mkdir(parents=True, exist_ok=True)  # the user's output folder, as asked
    atomic_write_bytes(out, buf.getvalue())
    atomic_write_json(side, sidecar(trained, out, fmt, x))
    return side


def _onnx(module: nn.Module, x: torch.Tensor, buf: io.BytesIO) -> None:
    import tempfile

    try:
        import onnx  # noqa: F401
    except ImportError:
        raise UserError("--format onnx needs the onnx package: pip install onnx") from None
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "model.onnx"
        torch.onnx.export(
            module,
            (x,),
            str(path),
            input_names=["x"],
            output_names=["y"],
            dynamo=False,
            dynamic_axes={"x": {0: "batch"}, "y": {0: "batch"}},
        )
        buf.write(path.read_bytes())
