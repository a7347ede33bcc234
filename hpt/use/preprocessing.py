"""Everything needed to use a trained run, kept in its run directory as plain JSON.

At the end of training a supervised run writes, atomically, beside ``checkpoints/best.pt``:

``preprocessing.json`` — what a raw input goes through before the model sees it::

    {"format": 1,
     "problem": "classification" | "binary" | "regression",
     "classes": ["class_0", ...],          # output index -> label ([] for regression)
     "input": {"kind": "table", "features": [{"name": "alcohol", "kind": "numeric",
                                              "fill": 13.05},       # missing -> median
                                             {"name": "colour", "kind": "categorical",
                                              "levels": ["red", "white"]}],
               "columns": ["alcohol", "colour=red", "colour=white"]}  # the encoded columns
            | {"kind": "image", "size": [h, w], "channels": 1 | 3}     # resized, uint8
            | {"kind": "tensor", "shape": [...]},                      # your own tensors
     "normalise": {"kind": "columns" | "channels", "mean": [...], "std": [...]} | null,
     "target": {"name": "quality", "scaling": "standard" | "none", "mean": [...], "std": [...]}}

``checkpoints/best.json`` — how to rebuild the model: its constructor config (``model``, the
``_target_`` and its arguments), the ``in_shape`` and ``out_features`` hpt passed, the folder
the run started in (``cwd``: imported from only with ``--trust-code``, see ``hpt.use.trust``), and
the run's whole resolved ``config`` (``hpt eval`` rebuilds its data from it).

Images: /255, then ``(x - mean) / std`` per channel. Tables: numeric columns are filled with
``fill`` when missing and categorical ones one-hot encoded over ``levels``, in ``columns``
order; then ``(x - mean) / std`` per encoded column. Regression outputs are ``out * std + mean``
when the target was scaled; classification outputs are logits over ``classes`` (one logit
for ``binary``: the probability of ``classes[1]`` is its sigmoid).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from hpt.errors import DamagedFileError, UserError
from hpt.rundir import CHECKPOINT, RESULT, atomic_write_json, read_json, run_of

if TYPE_CHECKING:
    import torch
    from omegaconf import DictConfig
    from torch import nn

    from hpt.build import Run

PREPROCESSING = "preprocessing.json"
MODEL = "checkpoints/best.json"
FORMAT = 1


def save(run_dir: Path, built: Run, cfg: DictConfig, cwd: str | None) -> None:
    """Write ``preprocessing.json`` and ``checkpoints/best.json`` for a trained run."""
    import os

    from omegaconf import OmegaConf

    from hpt.masking import mask_strings

    config = OmegaConf.to_container(cfg, resolve=True, enum_to_str=True)
    assert isinstance(config, dict)
    config.pop("hydra", None)
    config.pop("resume", None)
    config = mask_strings(config)  # a tracking_uri's password is the user's, not the run's
    atomic_write_json(run_dir / PREPROCESSING, built.data.preprocessing)
    atomic_write_json(
        run_dir / MODEL,
        {
            "format": FORMAT,
            "checkpoint": Path(CHECKPOINT).name,
            **built.model_spec,
            "cwd": cwd or os.getcwd(),
            "config": config,
        },
    )


def _numbers(value: Any, positive: bool = False) -> bool:
    import math

    return (
        isinstance(value, list)
        and all(
            isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v)
            for v in value
        )
        and (not positive or all(v > 0 for v in value))
    )


def prep_problem(prep: dict[str, Any]) -> str | None:
    """Why a ``preprocessing.json`` cannot be one hpt wrote (a zero std, a non-number, a
    missing part), or None: checked before any input is encoded with it."""
    if prep.get("problem") not in ("classification", "binary", "regression"):
        return f"problem is {prep.get('problem')!r}"
    source = prep.get("input")
    if not isinstance(source, dict) or source.get("kind") not in ("table", "image", "tensor"):
        return "input.kind is not table, image or tensor"
    norm = prep.get("normalise")
    if norm is not None and not (
        isinstance(norm, dict)
        and _numbers(norm.get("mean"))
        and _numbers(norm.get("std"), positive=True)
        and len(norm["mean"]) == len(norm["std"])
    ):
        return "normalise.mean and .std must be lists of finite numbers, std > 0"
    target = prep.get("target") or {}
    if target.get("scaling") == "standard" and not (
        _numbers(target.get("mean")) and _numbers(target.get("std"), positive=True)
    ):
        return "target.mean and .std must be lists of finite numbers, std > 0"
    if source["kind"] == "table":
        features, width = source.get("features"), 0
        for f in features if isinstance(features, list) else [None]:
            if isinstance(f, dict) and f.get("kind") == "numeric" and _numbers([f.get("fill")]):
                width += 1
            elif isinstance(f, dict) and isinstance(f.get("levels"), list):
                width += len(f["levels"])
            else:
                return f"input.features has a bad entry: {str(f)[:80]}"
        if not isinstance(source.get("columns"), list) or len(source["columns"]) != width:
            return "input.columns does not match input.features"
    if source["kind"] == "image" and not (
        _numbers(source.get("size"), positive=True) and source.get("channels") in (1, 3)
    ):
        return "input.size or input.channels is not an image's"
    return None


class Trained:
    """A run directory's preprocessing, model description and result, checked for use."""

    def __init__(self, run_dir: str | Path, *, trust_code: bool = False) -> None:
        self.run_dir = run_of(run_dir)  # a sweep dir stands for its refit model (best/)
        self.trust_code = trust_code  # import and call what the run names (hpt.use.trust)
        where = str(self.run_dir)
        if not self.run_dir.is_dir():
            raise UserError(f"{where}: no such run directory")
        result = read_json(self.run_dir / RESULT)
        if result is None:
            raise UserError(f"{where} is not a run directory (no readable {RESULT})")
        if result.get("status") == "FAIL":
            why = result.get("error") or "no error recorded"
            raise UserError(f"{where}: the run failed ({result.get('error_kind')}): {why}")
        if not (self.run_dir / CHECKPOINT).is_file():
            raise UserError(f"{where} has no {CHECKPOINT}: the run did not finish an epoch")
        kind = (result.get("params") or {}).get("task.name", "supervised")
        if kind != "supervised":  # a generator is not a predictor: say so, not "train it again"
            raise UserError(
                f"{where} is a task={kind} run: predict, eval and export take supervised runs "
                f"(its weights are {CHECKPOINT}, a state_dict of its task.model)"
            )
        prep, spec = read_json(self.run_dir / PREPROCESSING), read_json(self.run_dir / MODEL)
        if prep is None or spec is None:
            missing = PREPROCESSING if prep is None else MODEL
            raise UserError(
                f"{where} has no {missing} (a run trained before hpt saved it): "
                "train it again to use it"
            )
        if prep.get("format") != FORMAT or spec.get("format") != FORMAT:
            raise UserError(f"{where}: {PREPROCESSING} is not in a format this hpt reads")
        why = prep_problem(prep)
        if why:
            raise DamagedFileError(f"{where}/{PREPROCESSING} is damaged: {why}")
        self.result, self.prep, self.spec = result, prep, spec

    @property
    def problem(self) -> str:
        """classification, binary or regression."""
        return str(self.prep["problem"])

    @property
    def classes(self) -> list[str]:
        """The class names, in output order (empty for regression)."""
        return [str(c) for c in self.prep.get("classes") or []]

    @property
    def kind(self) -> str:
        """The kind of input the run was trained on (tensor, table or image)."""
        return str(self.prep["input"]["kind"])

    def model(self, checkpoint: str | None = None) -> nn.Module:
        """The model, rebuilt from its constructor config, with the best weights, in eval mode."""
        from omegaconf import OmegaConf

        from hpt.build import build_model
        from hpt.record import load_checkpoint

        self.checked(self.spec["model"], "model")
        model = build_model(
            OmegaConf.create(self.spec["model"]), self.spec["in_shape"], self.spec["out_features"]
        )
        name = str(checkpoint or self.spec["checkpoint"])
        if Path(name).name != name:
            raise UserError(f"{self.run_dir / MODEL}: checkpoint {name!r} is not a file name")
        path = self.run_dir / "checkpoints" / name
        try:
            model.load_state_dict(load_checkpoint(path))
        except Exception as exc:
            from hpt.errors import one_line

            raise UserError(f"{path}: cannot load the weights: {one_line(exc)}") from None
        return model.eval()

    def checked(self, node: Any, key: str) -> None:
        """Refuse a ``_target_`` in ``node`` (the run's ``model``, ``loss`` or ``data``) that
        loading this run may not import or call (``hpt.use.trust``), before anything is."""
        from omegaconf import OmegaConf

        from hpt.use import trust

        if OmegaConf.is_config(node):  # eval's config, overrides applied
            node = OmegaConf.to_container(node, resolve=True, enum_to_str=True)
        recorded = self.spec.get("cwd")
        recorded = str(recorded) if recorded else None
        trust.allow_recorded(recorded, self.trust_code)
        if not self.trust_code:
            trust.check(node, key, run_dir=self.run_dir, recorded=recorded)

    # inputs -> the tensors the model takes

    def table_inputs(self, frame: Any, what: str) -> torch.Tensor:
        """New rows (a pandas DataFrame) encoded and standardised as the training rows were."""
        import numpy as np
        import torch

        from hpt.data.table import MISSING, is_numeric, text_values

        features = self.prep["input"]["features"]
        missing = [f["name"] for f in features if f["name"] not in frame.columns]
        if missing:
            raise UserError(f"{what} lacks the column(s) the model needs: {', '.join(missing)}")
        parts = []
        for f in features:
            col = frame[f["name"]]
            if f["kind"] == "numeric":
                if not is_numeric(col) and not col.isna().all():
                    raise UserError(f"{what}: column {f['name']} is not numeric")
                parts.append(col.astype(float).fillna(f["fill"]).to_numpy()[:, None])
            else:
                values = text_values(col)  # a missing cell never seen in training: all zeros
                unknown = sorted(set(values) - set(f["levels"]) - {MISSING})
                if unknown:
                    raise UserError(
                        f"{what}: column {f['name']} has categories not seen in training: "
                        f"{', '.join(unknown[:5])} (known: {', '.join(f['levels'][:10])})"
                    )
                text = np.array([None if v is None else str(v) for v in values], dtype=object)
                parts.append(np.stack([text == c for c in f["levels"]], axis=1).astype(float))
        x = torch.from_numpy(np.concatenate(parts, axis=1)).float()
        return self.finite(self.normalise(x), what)

    def fill(self, x: torch.Tensor) -> torch.Tensor:
        """Encoded table rows with each missing (NaN) number as its training median, as the
        CSV path and the exported file fill them."""
        import torch

        fill = torch.zeros(len(self.prep["input"]["columns"]))
        i = 0
        for f in self.prep["input"]["features"]:
            if f["kind"] == "numeric":
                fill[i] = float(f["fill"])
            i += 1 if f["kind"] == "numeric" else len(f["levels"])
        return torch.where(torch.isnan(x), fill, x.float())

    def finite(self, x: torch.Tensor, what: str) -> torch.Tensor:
        """``x`` when every value is a finite number; otherwise which rows cannot be scored."""
        import torch

        bad = ~torch.isfinite(x.reshape(len(x), -1)).all(dim=1) if len(x) else torch.zeros(0)
        if not bool(bad.any()):
            return x
        rows = bad.nonzero().flatten().tolist()
        column = ""
        if self.kind == "table":  # name the first offending encoded column
            first = int((~torch.isfinite(x[rows[0]])).nonzero().flatten()[0])
            column = f" (column {self.prep['input']['columns'][first]})"
        shown = ", ".join(map(str, rows[:5])) + (", ..." if len(rows) > 5 else "")
        raise UserError(
            f"{what}: {len(rows)} row(s) cannot be scored, their values are not finite numbers "
            f"(inf, NaN or beyond float32) once encoded: row {shown}{column}; fix or drop them"
        )

    def table_targets(self, frame: Any, what: str) -> torch.Tensor:
        """A labelled table's target column as the model's targets (unscaled for regression)."""
        import torch

        name = self.prep["target"].get("name")
        if not name or name not in frame.columns:
            raise UserError(f"{what} has no target column {name}: it cannot be evaluated")
        col = frame[name]
        if col.isna().any():
            raise UserError(f"{what}: {int(col.isna().sum())} rows have no {name}")
        if self.problem == "regression":
            return torch.tensor(col.to_numpy(dtype=float), dtype=torch.float32).unsqueeze(1)
        index = {c: i for i, c in enumerate(self.classes)}
        labels = [str(v) for v in col]
        unknown = sorted(set(labels) - set(index))
        if unknown:
            raise UserError(f"{what}: {name} has classes the model does not know: {unknown[:5]}")
        y = torch.tensor([index[v] for v in labels], dtype=torch.long)
        return y.float().unsqueeze(1) if self.problem == "binary" else y

    def images(self, paths: list[Path], what: str) -> torch.Tensor:
        """Image files decoded and resized as in training: uint8 N×C×H×W."""
        from hpt.data.image_folder import decode_all

        size = tuple(self.prep["input"]["size"])
        x, _ = decode_all(paths, (int(size[0]), int(size[1])), what)
        return x[:, : int(self.prep["input"]["channels"])].contiguous()

    def normalise(self, x: torch.Tensor) -> torch.Tensor:
        """Raw inputs (encoded table columns, uint8 images) as the model saw them in training."""
        import torch

        norm = self.prep.get("normalise")
        if norm is None:
            return x.float()
        mean, std = torch.tensor(norm["mean"]), torch.tensor(norm["std"])
        if norm["kind"] == "channels":
            x = x.float() / 255.0 if x.dtype == torch.uint8 else x.float()
            shape = [1, -1] + [1] * (x.dim() - 2)
            return (x - mean.view(shape)) / std.view(shape)
        return (x.float() - mean) / std

    # outputs -> predictions

    def unscale(self, out: torch.Tensor) -> torch.Tensor:
        """Regression outputs in the target's units; the model's targets as trained otherwise."""
        import torch

        target = self.prep.get("target") or {}
        if self.problem != "regression" or target.get("scaling") != "standard":
            return out
        return out * torch.tensor(target["std"]) + torch.tensor(target["mean"])

    def scale(self, y: torch.Tensor) -> torch.Tensor:
        """Targets in the target's units, scaled as the model was trained on them."""
        import torch

        target = self.prep.get("target") or {}
        if self.problem != "regression" or target.get("scaling") != "standard":
            return y
        return (y - torch.tensor(target["mean"])) / torch.tensor(target["std"])

    def predictions(self, out: torch.Tensor) -> dict[str, list[Any]]:
        """The model's raw outputs as columns: ``prediction`` in the target's labels or units,
        and for classification ``p_<class>``, each class's probability."""
        import torch

        out = out.detach().float().cpu()
        if self.problem == "regression":
            values = self.unscale(out)
            if values.shape[1] == 1:
                return {"prediction": values[:, 0].tolist()}
            return {f"prediction_{i}": values[:, i].tolist() for i in range(values.shape[1])}
        if self.problem == "binary":
            p1 = torch.sigmoid(out[:, 0])
            probs = torch.stack([1 - p1, p1], dim=1)
        else:
            probs = torch.softmax(out, dim=1)
        classes = self.classes or [str(i) for i in range(probs.shape[1])]
        columns: dict[str, list[Any]] = {
            "prediction": [classes[i] for i in probs.argmax(1).tolist()]
        }
        for i, c in enumerate(classes):
            columns[f"p_{c}"] = probs[:, i].tolist()
        return columns
