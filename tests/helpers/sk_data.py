"""Real data for the user-data tests: scikit-learn's bundled datasets, written to disk.

No download: ``load_breast_cancer``, ``load_wine``, ``load_diabetes`` become CSV / Parquet
tables and ``load_digits`` (1,797 real 8x8 scans of handwritten digits) becomes a
torchvision ImageFolder tree of PNG files. Also importable as a ``data._target_``
(``helpers.sk_data.digits_tensors``) because pytest puts tests/ on ``sys.path``.
"""

from __future__ import annotations

import atexit
import shutil
import tempfile
from pathlib import Path

import numpy as np
import torch

_SHARED: Path | None = None


def shared_dir() -> Path:
    """One folder per test process with every file below written once (removed at exit)."""
    global _SHARED
    if _SHARED is None:
        _SHARED = Path(tempfile.mkdtemp(prefix="hpt-sk-"))
        atexit.register(shutil.rmtree, _SHARED, True)
        write_tables(_SHARED)
        write_digits(_SHARED / "digits")
    return _SHARED


def write_tables(folder: Path) -> dict[str, Path]:
    """breast_cancer.csv (text target: benign/malignant), wine.parquet (3 classes, with a text
    column), diabetes.csv (regression), and a train/test pair of breast-cancer CSVs."""
    from sklearn.datasets import load_breast_cancer, load_diabetes, load_wine

    folder.mkdir(parents=True, exist_ok=True)
    bc = load_breast_cancer(as_frame=True).frame
    bc["target"] = np.where(bc["target"] == 1, "benign", "malignant")
    bc.to_csv(folder / "breast_cancer.csv", index=False)
    bc.iloc[:450].to_csv(folder / "bc_train.csv", index=False)
    bc.iloc[450:].to_csv(folder / "bc_test.csv", index=False)
    wine = load_wine(as_frame=True).frame
    # a real text column: the alcohol level in three bands
    wine["strength"] = np.select(
        [wine["alcohol"] < 12.5, wine["alcohol"] < 13.5], ["light", "medium"], "strong"
    )
    wine.to_parquet(folder / "wine.parquet")
    wine.to_csv(folder / "wine.csv", index=False)
    load_diabetes(as_frame=True, scaled=False).frame.to_csv(folder / "diabetes.csv", index=False)
    return {p.stem: p for p in folder.iterdir()}


def write_digits(
    root: Path, *, val: bool = False, test: bool = True, limit: int | None = None
) -> Path:
    """digits as PNGs: every 5th image in test/ (when ``test``), every 7th in val/ (when ``val``)."""
    from PIL import Image
    from sklearn.datasets import load_digits

    digits = load_digits()
    for i, (image, label) in enumerate(zip(digits.images, digits.target)):
        if limit is not None and i >= limit:
            break
        split = "test" if test and i % 5 == 0 else "val" if val and i % 7 == 0 else "train"
        folder = root / split / str(label)
        folder.mkdir(parents=True, exist_ok=True)
        pixels = (image * 16).clip(0, 255).astype(np.uint8)  # 0..16 -> 0..255
        Image.fromarray(pixels, "L").save(folder / f"{i:04d}.png")
    return root


def digits_tensors(n_test: int = 300) -> tuple[tuple[torch.Tensor, torch.Tensor], ...]:
    """A ``data._target_``: digits as (x, y) tensor pairs, x scaled to [0, 1], N×1×8×8."""
    from sklearn.datasets import load_digits

    digits = load_digits()
    x = torch.tensor(digits.images, dtype=torch.float32).unsqueeze(1) / 16.0
    y = torch.tensor(digits.target, dtype=torch.long)
    return (x[n_test:], y[n_test:]), (x[:n_test], y[:n_test])


def digits_datasets(n_test: int = 300) -> dict[str, torch.utils.data.Dataset]:
    """The same as torch Datasets in a dict (the other return form of the contract)."""
    (xtr, ytr), (xte, yte) = digits_tensors(n_test)
    return {
        "train": torch.utils.data.TensorDataset(xtr, ytr),
        "test": torch.utils.data.TensorDataset(xte, yte),
    }


def diabetes_rows() -> tuple[tuple[torch.Tensor, torch.Tensor], tuple[torch.Tensor, torch.Tensor]]:
    """A regression ``data._target_``: float targets."""
    from sklearn.datasets import load_diabetes

    x, y = load_diabetes(return_X_y=True)
    xt, yt = torch.tensor(x, dtype=torch.float32), torch.tensor(y, dtype=torch.float32)
    return (xt[80:], yt[80:]), (xt[:80], yt[:80])


def not_a_dataset() -> str:
    return "oops"
