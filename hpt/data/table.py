"""``data=table``: a CSV or Parquet file with one target column.

Numeric feature columns are standardised (per run, with training-split statistics; see
``hpt.data.splits``); missing numbers are filled with the column's median in the
training file. Other columns (strings, categories, booleans) are one-hot encoded with the
categories of the training file (an unseen category in the test file encodes as all zeros).
The problem is inferred from the target: text or booleans, or integers with at most
``max_classes`` distinct values, are classification (binary with two values); anything else
is regression. ``data.problem`` overrides the inference.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch

from hpt.data.loaded import Loaded
from hpt.errors import DataNotFoundError, UserError

SUFFIXES = (".csv", ".tsv", ".txt", ".parquet", ".pq")


def read_table(path_text: str, key: str) -> Any:
    """Read a CSV/TSV/Parquet file into a DataFrame.

    Args:
        path_text: The file, as the user gave it (``~`` is expanded).
        key: The setting that named it (``data.path``, ``data.test_path``), for messages.

    Returns:
        The table (at least one row).

    Raises:
        DataNotFoundError: No such file.
        UserError: Not a table suffix, Parquet without pyarrow, a file that cannot be
            parsed, or no rows.
    """
    import pandas as pd

    path = Path(path_text).expanduser()
    if not path.is_file():
        raise DataNotFoundError(f"{key}={path_text}: no such file")
    suffix = path.suffix.lower()
    if suffix not in SUFFIXES:
        raise UserError(f"{key}={path_text}: not a table file (use {', '.join(SUFFIXES)})")
    try:
        if suffix in (".parquet", ".pq"):
            try:
                import pyarrow  # noqa: F401
            except ImportError:
                raise UserError(
                    f"{key}={path_text}: reading Parquet needs pyarrow (pip install 'hpt[parquet]' "
                    "(from a checkout: '.[parquet]'))"
                ) from None
            frame = pd.read_parquet(path)
        else:
            frame = pd.read_csv(path, sep="\t" if suffix == ".tsv" else ",")
    except UserError:
        raise
    except Exception as exc:  # malformed file, wrong encoding: one line naming the file
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise UserError(f"{key}={path_text}: cannot be read: {first}") from None
    if len(frame) == 0:
        raise UserError(f"{key}={path_text}: the table has no rows")
    return frame


def is_numeric(series: Any) -> bool:
    """Whether a column holds numbers (booleans are categories, not numbers).

    Args:
        series: A pandas Series.

    Returns:
        True for a numeric, non-boolean dtype.
    """
    import pandas as pd

    return bool(pd.api.types.is_numeric_dtype(series)) and not pd.api.types.is_bool_dtype(series)


# A text cell with no value (pandas reads it as NaN) is a category of its own, as scikit-learn's
# OneHotEncoder treats a missing value: training learns what a missing colour predicts.
MISSING = "(missing)"


def text_values(series: Any) -> np.ndarray:
    """A text column's values as strings, a missing cell as ``MISSING``.

    Args:
        series: A pandas Series.

    Returns:
        An array of str, one per row.
    """
    # notna() knows every missing marker (None, NaN, pd.NA), where a cell-by-cell test does not
    return series.astype(object).where(series.notna(), MISSING).astype(str).to_numpy(dtype=object)


def _infer(series: Any, max_classes: int) -> str:
    values = series.dropna()
    if not is_numeric(values):
        return "binary" if values.nunique() == 2 else "classification"
    integral = bool(np.all(np.mod(values.to_numpy(dtype=float), 1.0) == 0))
    distinct = values.nunique()
    if integral and distinct <= max_classes:
        return "binary" if distinct == 2 else "classification"
    return "regression"


def _columns_hint(name: str, columns: Any, most: int = 30) -> str:
    """`` (did you mean X?; columns: ...)``: every column when there are few, else the closest
    ones and the last (often the target) — never a cut-off list that hides the right one."""
    import difflib

    names = [str(c) for c in columns]
    close = difflib.get_close_matches(name, names, n=1, cutoff=0.6)
    hint = f"did you mean {close[0]}?; " if close else ""
    if len(names) <= most:
        return f" ({hint}columns: {', '.join(names)})"
    nearest = difflib.get_close_matches(name, names, n=10, cutoff=0.0)
    shown = list(dict.fromkeys([*nearest, names[-1]]))
    return f" ({hint}{len(names)} columns; the closest: {', '.join(shown)})"


def load_table(
    path: str | None = None,
    target: str | None = None,
    features: list[str] | None = None,
    test_path: str | None = None,
    test_split: float = 0.2,
    max_classes: int = 50,
    problem: str = "auto",
) -> Loaded:
    """``data=table``: read a table file into feature and target tensors.

    Args:
        path: The training file (``data.path``).
        target: The column to predict (``data.target``).
        features: The input columns (None: every other column).
        test_path: A separate test file; None: ``test_split`` of the rows, fixed.
        test_split: The share of the rows held out as the test set without a test file.
        max_classes: ``auto``: an integer target with more distinct values is regression.
        problem: ``data.problem``; ``auto`` infers it from the target column.

    Returns:
        Numeric columns as floats (standardised per run), the others one-hot, and the
        targets shaped for the problem.

    Raises:
        UserError: A missing setting, an unknown column, a target with gaps or a table
            that cannot be read.
        DataNotFoundError: No such table file.
    """
    path, target = _required(path, target)
    train = read_table(path, "data.path")
    if target not in train.columns:
        raise UserError(
            f"data.target={target} is not a column of "
            f"{path}{_columns_hint(str(target), train.columns)}"
        )
    columns = _features(features, train, path, target)
    if train[target].isna().any():
        raise UserError(
            f"data.target={target}: {int(train[target].isna().sum())} rows of {path} have no value"
        )
    train, test = _test_rows(path, test_path, float(test_split), train, columns, target)
    if problem == "auto":
        problem = _infer(train[target], int(max_classes))
    x_train, x_test, mask, encoding = _encode(train[columns], test[columns])
    y_train, y_test, classes = _targets(train[target], test[target], problem, str(target))
    num_classes = len(classes) if problem == "classification" else 1
    source = {"kind": "table", "target": str(target), **encoding}
    return Loaded(
        x_train,
        y_train,
        x_test,
        y_test,
        problem,
        num_classes,
        norm="columns",
        columns=mask,
        classes=classes,
        source=source,
    )


def _required(path: str | None, target: str | None) -> tuple[str, str]:
    """``data.path`` and ``data.target``, which a table cannot do without."""
    if not path:
        raise UserError("data=table needs data.path=FILE (a .csv or .parquet file)")
    if not target:
        raise UserError("data=table needs data.target=COLUMN (the column to predict)")
    return str(path), str(target)


def _features(features: Any, train: Any, path: str, target: Any) -> list[Any]:
    """The input columns: ``data.features`` checked against the table, else every column
    but the target."""
    if features is None:
        features = [c for c in train.columns if c != target]
    else:
        features = [str(f) for f in features]
        unknown = [f for f in features if f not in train.columns]
        if unknown:
            raise UserError(
                f"data.features: {', '.join(unknown)} not a column of {path}"
                f"{_columns_hint(unknown[0], train.columns)}"
            )
        if target in features:
            raise UserError(f"data.features includes the target column {target}")
    if not features:
        raise UserError(f"data=table: {path} has no feature columns besides {target}")
    return list(features)


def _test_rows(
    path: str, test_path: str | None, fraction: float, train: Any, features: list[Any], target: Any
) -> tuple[Any, Any]:
    """``(train, test)`` rows: the test table of ``data.test_path`` when given, else a fixed
    ``data.test_split`` share of the rows (the seed belongs to the dataset, not the run)."""
    if test_path:
        test = read_table(str(test_path), "data.test_path")
        missing = [c for c in (*features, target) if c not in test.columns]
        if missing:
            raise UserError(
                f"data.test_path={test_path} lacks columns {', '.join(map(str, missing))}"
            )
        return train, test
    if not 0.0 < fraction < 1.0:
        raise UserError(f"data.test_split must be between 0 and 1 (exclusive), got {fraction}")
    perm = np.random.default_rng(0).permutation(len(train))
    n_test = max(1, round(len(train) * fraction))
    if n_test >= len(train):
        raise UserError(f"data.path={path}: too few rows ({len(train)}) to carve a test split")
    return train.iloc[perm[n_test:]], train.iloc[perm[:n_test]]


def _encode(
    train: Any, test: Any
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, dict[str, Any]]:
    """Numeric columns as floats (medians fill gaps), the rest one-hot; the numeric mask; and
    the encoding (``features``: each input column and how it is encoded, ``columns``: the
    names of the encoded columns, in order), which ``hpt.use.preprocessing`` applies to new rows."""
    parts_train, parts_test, mask = [], [], []
    features: list[dict[str, Any]] = []
    columns: list[str] = []
    for col in train.columns:
        if is_numeric(train[col]):
            median = float(train[col].median()) if train[col].notna().any() else 0.0
            features.append({"name": str(col), "kind": "numeric", "fill": median})
            columns.append(str(col))
            parts_train.append(train[col].astype(float).fillna(median).to_numpy()[:, None])
            test_col = test[col]
            if not is_numeric(test_col):
                raise UserError(f"column {col} is numeric in data.path but not in data.test_path")
            parts_test.append(test_col.astype(float).fillna(median).to_numpy()[:, None])
            mask.append(True)
        else:
            tr, te = text_values(train[col]), text_values(test[col])
            cats = sorted(set(tr))
            features.append({"name": str(col), "kind": "categorical", "levels": cats})
            columns.extend(f"{col}={c}" for c in cats)
            parts_train.append(np.stack([tr == c for c in cats], axis=1).astype(float))
            parts_test.append(np.stack([te == c for c in cats], axis=1).astype(float))
            mask.extend([False] * len(cats))
    x_train = torch.from_numpy(np.concatenate(parts_train, axis=1)).float()
    x_test = torch.from_numpy(np.concatenate(parts_test, axis=1)).float()
    encoding = {"features": features, "columns": columns}
    return x_train, x_test, torch.tensor(mask, dtype=torch.bool), encoding


def _floats(series: Any) -> torch.Tensor:
    return torch.tensor(series.to_numpy(dtype=float), dtype=torch.float32).unsqueeze(1)


def _targets(
    train: Any, test: Any, problem: str, name: str
) -> tuple[torch.Tensor, torch.Tensor, list[str]]:
    if test.isna().any():
        raise UserError(f"data.target={name}: {int(test.isna().sum())} test rows have no value")
    if problem == "regression":
        if not is_numeric(train):
            raise UserError(
                f"data.target={name} is not numeric: data.problem=regression needs numbers"
            )
        return _floats(train), _floats(test), []
    values = sorted(train.unique(), key=lambda v: (str(type(v)), v))
    if problem == "binary" and len(values) != 2:
        raise UserError(
            f"data.target={name} has {len(values)} distinct values: data.problem=binary needs 2"
        )
    if len(values) < 2:
        raise UserError(
            f"data.target={name} has a single value in the training rows: nothing to classify"
        )
    index = {v: i for i, v in enumerate(values)}
    unseen = sorted({str(v) for v in test.dropna().unique() if v not in index})
    if unseen:
        raise UserError(
            f"data.target={name}: test rows have classes not in the training rows: "
            f"{', '.join(unseen[:5])}"
        )
    y_train = torch.tensor([index[v] for v in train], dtype=torch.long)
    y_test = torch.tensor([index[v] for v in test], dtype=torch.long)
    if problem == "binary":
        y_train, y_test = y_train.float().unsqueeze(1), y_test.float().unsqueeze(1)
    return y_train, y_test, [str(v) for v in values]
