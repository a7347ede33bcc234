"""``hpt eval RUN_DIR [key=value ...] [--json FILE]``: a run's best checkpoint, evaluated again.

Without data overrides: on the run's own test split, rebuilt from its saved config and
standardised with its saved preprocessing, so the metrics are ``result.json``'s ``test``
block (exactly, on the same device). With data overrides (``data.path=labelled.csv`` for a
table run, ``data.root=FOLDER`` of class folders for an image run): on every row or image of
that labelled source, encoded with the run's preprocessing, as ``eval/*`` metrics. Three other
settings change how it runs (``trainer.device=cpu``, ``trainer.precision``,
``trainer.eval_batch_size=256``); any other is refused, as it would change nothing.
Metrics are printed, and written as JSON with ``--json FILE``.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hpt.errors import UserError
from hpt.use.predict import Parser, guarded, image_files, trust_flag
from hpt.use.preprocessing import Trained

if TYPE_CHECKING:
    from omegaconf import DictConfig

    from hpt.data import Split
    from hpt.training.loop_types import LoopSettings, Metrics


_ABSENT = object()
# what eval reads from the config besides data.*: how it runs, never what was trained
EVAL_KEYS = ("trainer.device", "trainer.precision", "trainer.eval_batch_size")


def configured(trained: Trained, overrides: list[str]) -> DictConfig:
    """The run's saved config with ``key=value`` overrides applied.

    Args:
        trained: The trained run.
        overrides: ``key=value`` items: ``data.*`` (which may add a key) and ``EVAL_KEYS``.

    Returns:
        The config.

    Raises:
        UserError: A malformed override, a key the run does not have, one that changes nothing
            in eval, or a value out of its range.
    """
    import yaml
    from omegaconf import OmegaConf

    cfg = OmegaConf.create(trained.spec["config"])
    for item in overrides:
        key, sep, value = item.partition("=")
        key = key.lstrip("+")
        if not sep or not key:
            raise UserError(f"{item}: expected key=value (e.g. data.path=labelled.csv)")
        absent = OmegaConf.select(cfg, key, default=_ABSENT) is _ABSENT
        if absent and key.split(".")[0] != "data":  # another source may need other data keys
            raise UserError(f"{key} is not a setting of this run")
        if key.split(".")[0] != "data" and key not in EVAL_KEYS:
            raise UserError(
                f"{key} changes nothing in hpt eval, which evaluates the trained model as it is: "
                f"it takes data.* and {', '.join(EVAL_KEYS)}"
            )
        try:
            OmegaConf.update(cfg, key, yaml.safe_load(value) if value else None, merge=True)
        except Exception as exc:
            raise UserError(f"{item}: {exc}") from None
    _check_ranges(cfg, {item.partition("=")[0].lstrip("+") for item in overrides})
    return cfg


def _check_ranges(cfg: DictConfig, keys: set[str]) -> None:
    """The overridden settings (and the batch size eval uses) within their ranges, as
    ``hpt train`` checks them: ``trainer.eval_batch_size=-5`` is refused, not run."""
    from hpt.config.rules import problems

    keys = keys | {"trainer.eval_batch_size"}
    found = [m for m in problems(cfg) if m.partition("=")[0] in keys]
    if found:
        raise UserError("; ".join(found))


def settings(cfg: DictConfig, trained: Trained) -> tuple[LoopSettings, Any]:
    """How to evaluate (device, precision, batch size, target scale) and the run's loss.

    Args:
        cfg: The run's config (``configured``).
        trained: The trained run.

    Returns:
        The loop settings and the loss.
    """
    from hydra.utils import instantiate

    from hpt.config.schema import plain
    from hpt.training.loop_types import LoopSettings
    from hpt.training.precision import resolve_device, resolve_precision

    t, problem = cfg.trainer, trained.problem
    device = resolve_device(str(t.device))
    target = trained.prep.get("target") or {}
    scale = (target["mean"], target["std"]) if target.get("scaling") == "standard" else None
    s = LoopSettings(
        epochs=1,
        batch_size=1,
        eval_batch_size=int(t.eval_batch_size),
        precision=resolve_precision(str(plain(t.precision)), device),
        device=device,
        problem=problem,
        objective="",
        maximize=False,
        target_scale=scale,
    )
    loss_fn = instantiate(cfg.loss, **({"problem": problem} if "problem" in cfg.loss else {}))
    return s, loss_fn


def test_split(cfg: DictConfig, trained: Trained) -> Split:
    """The run's own test split, as the model saw it in training.

    Args:
        cfg: The run's config (``configured``).
        trained: The trained run, whose preprocessing encodes a user source.

    Returns:
        The test split.
    """
    from hpt.build import load_source
    from hpt.data import Split, prepare

    src = load_source(cfg.data)
    if src.applied is not None:  # normalised as it loads (hpt's MNIST): as the run made it
        t = cfg.trainer
        return prepare(src, cfg.data, val_split=float(t.val_split), seed=int(t.seed)).test
    return Split(trained.normalise(src.test_x), trained.scale(src.test_y))


def labelled(cfg: DictConfig, trained: Trained) -> tuple[Split, str]:
    """Every row (or image) of another labelled source, encoded with the run's preprocessing.

    Args:
        cfg: The run's config with its ``data.*`` overrides (``configured``).
        trained: The trained run.

    Returns:
        The rows and where they came from.

    Raises:
        UserError: The source is missing, has unknown classes, or the run's data was tensors.
    """
    import torch

    from hpt.data import Split

    d = cfg.data
    if trained.kind == "table":
        from hpt.data.table import read_table

        frame = read_table(str(d.get("path")), "data.path")
        what = f"data.path={d.get('path')}"
        y = trained.table_targets(frame, what)
        return Split(trained.table_inputs(frame, what), trained.scale(y)), str(d.get("path"))
    if trained.kind == "image":
        root = Path(str(d.get("root"))).expanduser()
        if not root.is_dir():
            raise UserError(f"data.root={d.get('root')}: no such folder")
        folder = root / "test" if (root / "test").is_dir() else root
        index = {c: i for i, c in enumerate(trained.classes)}
        files = image_files(folder)
        unknown = sorted({f.relative_to(folder).parts[0] for f in files} - set(index))
        if unknown:
            raise UserError(f"data.root: class folders the model does not know: {unknown[:5]}")
        y = torch.tensor([index[f.relative_to(folder).parts[0]] for f in files])
        return Split(trained.normalise(trained.images(files, "data.root")), y), str(folder)
    raise UserError(
        "hpt eval on other data reads tables and image folders; this run was trained on "
        "your own tensors: evaluate it on its test split (no data overrides)"
    )


def evaluate_run(
    run_dir: str | Path, overrides: Sequence[str] = (), *, trust_code: bool = False
) -> dict[str, Any]:
    """The metrics of a run's best checkpoint.

    Args:
        run_dir: The run's directory.
        overrides: ``key=value`` items; a ``data.*`` one evaluates on that data instead of the
            run's test split.
        trust_code: Import from the run's recorded project folder and call any ``_target_``
            it names (``hpt.use.trust``).

    Returns:
        ``{"run_dir", "source", "n", "metrics"}``.
    """
    from hpt.training.loop import evaluate

    trained = Trained(run_dir, trust_code=trust_code)
    cfg = configured(trained, list(overrides))
    trained.checked(cfg.loss, "loss")
    s, loss_fn = settings(cfg, trained)
    if any(o.lstrip("+").startswith("data.") for o in overrides):
        split, source, prefix = *labelled(cfg, trained), "eval"
    else:
        trained.checked(cfg.data, "data")  # its source is called to rebuild the split
        split, source, prefix = test_split(cfg, trained), "test split", "test"
    model = trained.model().to(s.device)
    metrics: Metrics = evaluate(model, split.to(s.device), loss_fn, s, prefix)
    return {"run_dir": str(trained.run_dir), "source": source, "n": len(split), "metrics": metrics}


def main(argv: list[str]) -> int:
    """``hpt eval``: print (and optionally save) a run's metrics; returns the exit code."""
    parser = Parser(
        prog="hpt eval",
        description=__doc__.split("\n\n")[1],
        usage="hpt eval RUN_DIR [key=value ...] [--json FILE]",
    )
    parser.add_argument("run_dir", help="a run directory (outputs/runs/... or a sweep's trial)")
    parser.add_argument("overrides", nargs="*", help="data.path=..., trainer.device=cpu, ...")
    parser.add_argument("--json", metavar="FILE", help="also write the metrics to FILE as JSON")
    trust_flag(parser)

    def body() -> int:
        from hpt.outputs import refuse_record
        from hpt.rundir import atomic_write_json

        args = parser.parse_args(argv)
        if args.json:
            refuse_record(args.json, "--json", (args.run_dir,))
        report = evaluate_run(args.run_dir, args.overrides, trust_code=args.trust_code)
        print(f"{report['source']}: {report['n']} inputs")
        for name, value in report["metrics"].items():
            print(f"  {name} = {value:.6g}")
        if args.json:
            Path(args.json).parent.mkdir(parents=True, exist_ok=True)  # the user's folder, as asked
            atomic_write_json(args.json, report)
        return 0

    return guarded("hpt eval", body)
