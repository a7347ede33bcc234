"""``hpt predict RUN_DIR INPUT -o OUTPUT``: the tuned model's predictions on new data.

INPUT is a table (CSV, TSV or Parquet; the target column may be there or not, other extra
columns are passed through), an image file, or a folder of images (searched recursively).
OUTPUT (CSV, TSV or Parquet; ``-`` writes CSV to stdout) has one row per input: its identity
(``row``, the row's position, then the input's columns; or ``path``), ``prediction`` in the
target's own labels or units, and for classification ``p_<class>``, the probability of each
class. Inputs are encoded with the run's saved preprocessing (``preprocessing.json``): images
are resized as in training; an empty number is its training median and an empty text cell no
category (as in training's test split). An unknown category, a missing column, an unreadable
image or rows that cannot be scored (inf, or beyond float32 once encoded: the whole input is
refused, naming them) end with exit 2 and one line, as does an OUTPUT that would replace INPUT
or a run's own files.
"""

from __future__ import annotations

import argparse
import io
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

from hpt.errors import EXIT_USAGE, UserError
from hpt.use.preprocessing import Trained

if TYPE_CHECKING:
    import torch
    from torch import nn

OUTPUTS = (".csv", ".tsv", ".parquet", ".pq")


class Parser(argparse.ArgumentParser):
    """argparse, with a bad argument as one ``UserError`` line instead of the usage block."""

    def error(self, message: str) -> NoReturn:
        raise UserError(message)


def guarded(prog: str, body: Callable[[], int]) -> int:
    """``body()``, with a ``UserError`` printed as one line and exit code 2, and a file
    system error (a full disk) as one line and exit code 1."""
    try:
        return body()
    except UserError as exc:
        print(f"{prog}: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except OSError as exc:  # a full disk, no permission: the files' trouble, not the input's
        where = exc.filename or "a file"
        print(
            f"{prog}: error: cannot write or read {where}: {exc.strerror or exc}", file=sys.stderr
        )
        return 1


def trust_flag(parser: argparse.ArgumentParser) -> None:
    """``--trust-code``: the run's own code may run (``hpt.use.trust``)."""
    parser.add_argument(
        "--trust-code",
        action="store_true",
        help="import from the run's recorded project folder and call any _target_ it names "
        "(only for a run dir whose author you trust: a run dir is data, not code)",
    )


def image_files(path: Path) -> list[Path]:
    """An image file, or every image under a folder (sorted)."""
    from hpt.data.image_folder import EXTENSIONS

    if path.is_file():
        return [path]
    files = sorted(f for f in path.rglob("*") if f.suffix.lower() in EXTENSIONS and f.is_file())
    if not files:
        raise UserError(f"{path}: no image files ({', '.join(EXTENSIONS)}) in the folder")
    return files


def raw_shape(trained: Trained) -> list[int]:
    """The shape of one raw input: encoded table columns, C×H×W image, or the model's input."""
    source = trained.prep["input"]
    if trained.kind == "table":
        return [len(source["columns"])]
    if trained.kind == "image":
        return [int(source["channels"]), *map(int, source["size"])]
    return [int(s) for s in trained.spec["in_shape"]]


def inputs(trained: Trained, source: Any, what: str) -> tuple[Any, torch.Tensor]:
    """The inputs' identity (a DataFrame) and the model-ready tensor, from a DataFrame, a raw
    tensor (encoded table columns or uint8 images), or a path to a table, image or folder."""
    import pandas as pd
    import torch

    if isinstance(source, torch.Tensor):
        expected = raw_shape(trained)
        if list(source.shape[1:]) != expected:
            raise UserError(
                f"{what}: inputs of shape {list(source.shape[1:])} per row, but the model takes "
                f"{expected}"
                + (" (uint8 images at the training size)" if trained.kind == "image" else "")
            )
        x = trained.fill(source) if trained.kind == "table" else source  # NaN: the median
        return pd.DataFrame({"row": range(len(source))}), trained.finite(trained.normalise(x), what)
    if isinstance(source, pd.DataFrame):
        if trained.kind != "table":
            raise UserError(f"{what}: a table, but this run was trained on {trained.kind} data")
        identity = source.reset_index(drop=True)
        identity.insert(0, "row", range(len(identity)), allow_duplicates=True)
        return identity, trained.table_inputs(source, what)
    path = Path(str(source)).expanduser()
    if not path.exists():
        raise UserError(f"{what}={source}: no such file or folder")
    if trained.kind == "table":
        from hpt.data.table import read_table

        return inputs(trained, read_table(str(path), what), f"{what}={source}")
    if trained.kind == "image":
        files = image_files(path)
        x = trained.normalise(trained.images(files, what))
        return pd.DataFrame({"path": [str(f) for f in files]}), x
    raise UserError(
        f"{what}: this run was trained on your own tensors (data._target_): predict with "
        "hpt.api.load(RUN_DIR).predict(tensor)"
    )


def outputs(model: nn.Module, x: torch.Tensor, batch_size: int = 1024) -> torch.Tensor:
    """The model's raw outputs on ``x``, batch by batch, on the CPU."""
    import torch

    with torch.no_grad():
        parts = [model(x[i : i + batch_size]).float() for i in range(0, len(x), batch_size)]
    return torch.cat(parts) if parts else torch.empty(0)


def predict(trained: Trained, model: nn.Module, source: Any, what: str = "INPUT") -> Any:
    """One row per input: its identity, ``prediction`` and, for classification, ``p_<class>``."""
    identity, x = inputs(trained, source, what)
    out = outputs(model, x)
    bad = (~out.isfinite()).reshape(len(out), -1).any(dim=1).nonzero().flatten().tolist()
    if bad:  # scored, but into nothing usable: never a NaN labelled as the first class
        shown = ", ".join(map(str, bad[:5])) + (", ..." if len(bad) > 5 else "")
        raise UserError(
            f"{what}: the model's outputs are not finite numbers for {len(bad)} row(s): row "
            f"{shown}; the run's weights or preprocessing.json may be damaged"
        )
    columns = trained.predictions(out)
    identity = identity.drop(columns=[c for c in columns if c in identity.columns])
    return identity.assign(**columns)


def write_table(frame: Any, path: Path) -> None:
    """A DataFrame as CSV, TSV or Parquet (by the suffix), written atomically."""
    from hpt.rundir import atomic_write_bytes

    suffix = path.suffix.lower()
    Path(path).parent.mkdir(parents=True, exist_ok=True)  # the user's output folder, as asked
    if suffix in (".parquet", ".pq"):
        buf = io.BytesIO()
        try:
            frame.to_parquet(buf, index=False)
        except ImportError:
            raise UserError(
                f"-o {path}: writing Parquet needs pyarrow (pip install pyarrow)"
            ) from None
        atomic_write_bytes(path, buf.getvalue())
    else:
        text = frame.to_csv(index=False, sep="\t" if suffix == ".tsv" else ",")
        atomic_write_bytes(path, text.encode("utf-8"))


def main(argv: list[str]) -> int:
    """``hpt predict``: parse the arguments and write the predictions."""
    parser = Parser(
        prog="hpt predict",
        description=__doc__.split("\n\n")[1],
        usage="hpt predict RUN_DIR INPUT -o OUTPUT",
    )
    parser.add_argument("run_dir", help="a run directory (outputs/runs/... or a sweep's trial)")
    parser.add_argument("input", help="a .csv/.tsv/.parquet table, an image, or a folder of them")
    parser.add_argument(
        "-o", "--output", required=True, help="the predictions: .csv, .tsv, .parquet, or - (stdout)"
    )
    trust_flag(parser)

    def body() -> int:
        from hpt.outputs import refuse_record

        args = parser.parse_args(argv)
        out = Path(args.output)
        stdout = args.output == "-"
        if not stdout and out.suffix.lower() not in OUTPUTS:
            raise UserError(
                f"-o {out}: write predictions to a {', '.join(OUTPUTS)} file, or - (CSV to stdout)"
            )
        if not stdout:
            refuse_record(out, "-o", (args.input,))
        trained = Trained(args.run_dir, trust_code=args.trust_code)
        frame = predict(trained, trained.model(), args.input)
        if stdout:
            sys.stdout.write(frame.to_csv(index=False))
            print(f"{len(frame)} predictions written to stdout", file=sys.stderr)
        else:
            write_table(frame, out)
            print(f"{len(frame)} predictions written to {out}")
        return 0

    return guarded("hpt predict", body)
