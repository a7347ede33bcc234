"""``hpt export RUN_DIR -o FILE [--format torchscript|onnx]``: the tuned model as one file that
plain torch (``torch.jit.load``) or ONNX Runtime runs without hpt or your model's code.

The exported module holds the run's preprocessing: its input is the raw data (tables: a float
batch of the encoded columns in the saved order — numeric values as they are, NaN for a
missing one, and 0/1 for each ``column=level`` of a text column; images: a uint8 N×C×H×W
batch at the training size) and its output is in the target's terms (class probabilities
over ``classes``, or predictions in the target's units). A sidecar ``FILE``'s stem + ``.json``
lists the inputs, the outputs and the class names.
"""

from __future__ import annotations

from hpt.use.predict import Parser, guarded, trust_flag

FORMATS = ("torchscript", "onnx")  # those of hpt.use.standalone.export


def main(argv: list[str]) -> int:
    """``hpt export``: parse the arguments and write the model file."""
    parser = Parser(
        prog="hpt export",
        description=__doc__.split("\n\n")[1],
        usage="hpt export RUN_DIR -o FILE [--format torchscript|onnx]",
    )
    parser.add_argument("run_dir", help="a run directory (outputs/runs/... or a sweep's trial)")
    parser.add_argument("-o", "--output", required=True, help="the file to write (model.pt)")
    parser.add_argument("--format", default="torchscript", choices=FORMATS)
    trust_flag(parser)

    def body() -> int:
        args = parser.parse_args(argv)
        from hpt.use.standalone import export  # torch: only once the arguments are good

        side = export(args.run_dir, args.output, args.format, trust_code=args.trust_code)
        print(f"{args.format} model written to {args.output}; inputs and outputs in {side}")
        return 0

    return guarded("hpt export", body)
