"""Numbers derived from the runs table: Pareto set, seed groups, marginals, failures, importance.

Everything here works on the DataFrame alone (no study storage, no optuna import).
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from hpt.summarize.columns import (
    ALL_STATES,
    OBJECTIVE_PREFIX,
    PARAM_PREFIX,
    param_columns,
    readable,
    twin_params,
)
from hpt.summarize.columns import value_key as _key
from hpt.summarize.query import is_missing, primary_objective, score

if TYPE_CHECKING:
    import pandas as pd

SEED_PARAM = PARAM_PREFIX + "trainer.seed"
TABLE_IMPORTANCE_METHOD = (
    "table-based rank R² (Spearman ρ² for numeric params, η² for categorical; normalized)"
)


def state_counts(frame: pd.DataFrame) -> dict[str, int]:
    """Runs per state, always with the four contract statuses (zero when absent).

    Args:
        frame: The runs.

    Returns:
        State -> count: COMPLETE, PRUNED, FAIL and RUNNING first, then any other state
        (RETRIED, CORRUPT, UNKNOWN) that occurs.
    """
    counts = Counter(frame["status"].tolist())
    out = {state: counts.get(state, 0) for state in ALL_STATES[:4]}
    for state in ALL_STATES[4:]:
        if counts.get(state):
            out[state] = counts[state]
    return out


def finished(frame: pd.DataFrame, objective: str | None = None) -> pd.DataFrame:
    """COMPLETE runs with a finite value of ``objective``.

    Args:
        frame: The runs.
        objective: The objective's name (None: the primary one).

    Returns:
        The matching rows.
    """
    objective = objective or primary_objective(frame)
    values = frame["value"].astype(float)
    mask = (
        (frame["status"] == "COMPLETE")
        & (frame["objective"] == objective)
        & values.map(math.isfinite)
    )
    return frame[mask]


def objective_columns(frame: pd.DataFrame) -> list[str]:
    """``objective.<name>`` columns (present only for multi-objective runs).

    Args:
        frame: The runs.

    Returns:
        The column names, in the frame's order.
    """
    return [c for c in frame.columns if c.startswith(OBJECTIVE_PREFIX)]


def pareto_front(frame: pd.DataFrame, directions: Mapping[str, str]) -> pd.DataFrame:
    """Non-dominated COMPLETE runs over all objectives, each in its own direction.

    Only runs that have every objective value finite take part. A run is dominated when
    another run is at least as good in every objective and strictly better in one.

    Args:
        frame: The runs.
        directions: Objective name -> ``maximize``/``minimize``.

    Returns:
        The Pareto set (empty when the runs have fewer than two objectives).
    """
    columns = objective_columns(frame)
    if len(columns) < 2:
        return frame.iloc[0:0]
    candidates = frame[frame["status"] == "COMPLETE"]
    points: list[list[float]] = []
    keep: list[int] = []
    for i, row in enumerate(candidates[columns].itertuples(index=False)):
        values = [float(v) if not is_missing(v) else math.nan for v in row]
        if all(math.isfinite(v) for v in values):
            # Store "smaller is better" for every objective.
            signs = [
                -1.0 if directions.get(c[len(OBJECTIVE_PREFIX) :]) == "maximize" else 1.0
                for c in columns
            ]
            points.append([s * v for s, v in zip(signs, values)])
            keep.append(i)
    front = []
    for i, p in enumerate(points):
        dominated = any(
            all(q_k <= p_k for q_k, p_k in zip(q, p)) and any(q_k < p_k for q_k, p_k in zip(q, p))
            for j, q in enumerate(points)
            if j != i
        )
        if not dominated:
            front.append(keep[i])
    return candidates.iloc[front]


@dataclass
class SeedGroup:
    """Runs with identical params except ``trainer.seed``."""

    params: dict[str, Any]
    seeds: list[Any]
    mean: float
    std: float
    count: int
    runs: list[str] = field(default_factory=list)


def seed_groups(frame: pd.DataFrame, distinguishing: Sequence[str]) -> list[SeedGroup]:
    """Mean ± std of the objective over repeated seeds of the same config.

    Args:
        frame: The runs (only finished runs of the primary objective are used).
        distinguishing: Param columns shown to tell the groups apart.

    Returns:
        Groups with at least two runs, best mean first (in the objective's direction).
    """
    done = finished(frame)
    if SEED_PARAM not in done.columns or done.empty:
        return []
    params = [c for c in param_columns(done) if c != SEED_PARAM]
    buckets: dict[tuple[str, ...], list[int]] = {}
    rows = done[params].itertuples(index=False) if params else ([()] * len(done))
    for i, row in enumerate(rows):
        buckets.setdefault(tuple(_key(v) for v in row), []).append(i)
    direction = done["direction"].iloc[0]
    groups = []
    for members in buckets.values():
        if len(members) < 2:
            continue
        sub = done.iloc[members]
        values = sub["value"].astype(float)
        first = sub.iloc[0]
        groups.append(
            SeedGroup(
                params={
                    c[len(PARAM_PREFIX) :]: first[c] for c in distinguishing if c != SEED_PARAM
                },
                seeds=sub[SEED_PARAM].tolist(),
                mean=float(values.mean()),
                std=float(values.std(ddof=1)),
                count=len(members),
                runs=sub["name"].tolist(),
            )
        )
    groups.sort(key=lambda g: -score(g.mean, direction))
    return groups


@dataclass
class Marginal:
    """The objective's statistics for one value (or bin) of a grouped parameter."""

    value: str
    count: int
    mean: float
    std: float
    best: float


def group_by(frame: pd.DataFrame, column: str, max_levels: int = 10) -> list[Marginal]:
    """Marginal mean/std/count/best of the objective per value of ``column``.

    A numeric column with more than ``max_levels`` distinct values is cut into 5
    quantile bins (otherwise every continuous value would be its own group of one).

    Args:
        frame: The runs (finished runs of the primary objective are used).
        column: The resolved column to group by.
        max_levels: Distinct values above which numeric columns are binned.

    Returns:
        One entry per value, best mean first.
    """
    import pandas as pd

    done = finished(frame)
    if done.empty:
        return []
    direction = done["direction"].iloc[0]
    keys = done[column]
    numeric = pd.to_numeric(keys, errors="coerce")
    if numeric.notna().all() and keys.map(lambda v: not isinstance(v, bool)).all():
        if numeric.nunique() > max_levels:
            bins = pd.qcut(numeric, q=5, duplicates="drop")
            labels = bins.map(lambda iv: f"[{iv.left:.3g}, {iv.right:.3g}]").astype(str)
        else:
            labels = numeric.map(lambda v: format(float(v), ".6g"))
    else:
        labels = keys.map(_label)
    values = done["value"].astype(float)
    out = []
    for label, sub in values.groupby(labels.to_numpy(), sort=False):
        best = max(sub, key=lambda v: score(v, direction))
        out.append(
            Marginal(
                value=str(label),
                count=int(sub.count()),
                mean=float(sub.mean()),
                std=float(sub.std(ddof=1)) if len(sub) > 1 else math.nan,
                best=float(best),
            )
        )
    out.sort(key=lambda m: -score(m.mean, direction))
    return out


def _label(value: Any) -> str:
    return "(missing)" if is_missing(value) else str(value)


@dataclass
class FailureGroup:
    """Failed runs sharing an ``error_kind`` and error message."""

    kind: str
    message: str
    count: int
    runs: list[str]


def failure_groups(frame: pd.DataFrame, width: int = 160) -> list[FailureGroup]:
    """FAIL runs grouped by error kind and message, most common first.

    The message is the last non-empty line of ``error`` (the exception line of a traceback),
    truncated to ``width`` characters.

    Args:
        frame: The runs.
        width: The longest message kept (longer ones end in an ellipsis).

    Returns:
        One group per (kind, message), with the runs' names.
    """
    failed = frame[frame["status"] == "FAIL"]
    buckets: dict[tuple[str, str], list[str]] = {}
    for kind, error, name in zip(failed["error_kind"], failed["error"], failed["name"]):
        lines = [] if is_missing(error) else str(error).strip().splitlines()
        message = lines[-1].strip() if lines else "(no message)"
        if len(message) > width:
            message = message[: width - 1] + "…"
        kind_text = "unknown" if is_missing(kind) else str(kind)
        buckets.setdefault((kind_text, message), []).append(str(name))
    groups = [FailureGroup(k, m, len(r), r) for (k, m), r in buckets.items()]
    groups.sort(key=lambda g: (-g.count, g.kind, g.message))
    return groups


@dataclass
class ConfigDiff:
    """One parameter where the best run differs from the sweep's typical value."""

    param: str
    best: Any
    typical: Any  # None when every run has its own value (continuous searches)
    share: float
    searched: bool


def best_config_diff(
    best: pd.Series,
    peers: pd.DataFrame,
    search_space: Mapping[str, Any] | None = None,
) -> list[ConfigDiff]:
    """Params of the best run that differ from the most common value among its peers.

    The peers are the runs of the same sweep (or every run when it is not in a sweep);
    the most common value stands in for the sweep's defaults. Params in the search
    space are always listed (they are what the sweep tuned).

    Args:
        best: The best run's row.
        peers: The runs to take typical values from.
        search_space: The sweep's search space (names without the ``params.`` prefix).

    Returns:
        One entry per differing or searched parameter, searched ones first.
    """
    space = set(search_space or {})
    peers = readable(peers)
    twins = twin_params(peers)
    out = []
    for column in param_columns(peers):
        if column in twins:  # shown under the name it is interpolated from
            continue
        name = column[len(PARAM_PREFIX) :]
        value = best.get(column)
        cells = peers[column].tolist()
        counts = Counter(_key(v) for v in cells)
        if not counts:
            continue
        # most_common keeps first-seen order on ties, so the result is deterministic.
        top_key, top_count = counts.most_common(1)[0]
        typical = next(v for v in cells if _key(v) == top_key)
        # A searched param may match by group name too (``optimizer`` for ``optimizer.name``).
        group, _, leaf = name.rpartition(".")
        searched = name in space or (leaf in ("name", "_target_") and group in space)
        if _key(value) != top_key or searched:
            share = top_count / len(cells)
            distinct = top_count == 1 and len(cells) > 1
            out.append(ConfigDiff(name, value, None if distinct else typical, share, searched))
    out.sort(key=lambda d: (not d.searched, d.param))
    return out


#: Below this many finished trials an importance estimate is marked rough.
ROUGH_BELOW = 20


@dataclass
class Importance:
    """Per-parameter importance, how it was computed and on how many finished trials."""

    method: str
    values: dict[str, float]
    note: str | None = None
    n: int | None = None

    def basis(self) -> str | None:
        """``n=12, rough`` (under ``ROUGH_BELOW`` finished trials) or ``n=45``; None if unknown."""
        if self.n is None:
            return None
        return f"n={self.n}, rough" if self.n < ROUGH_BELOW else f"n={self.n}"


def table_importance(frame: pd.DataFrame, params: Sequence[str]) -> Importance:
    """Importance estimated from the table alone (no study needed).

    For each parameter: the share of the objective's rank variance it explains - the
    squared Spearman correlation for numeric params, the correlation ratio η² for
    categorical ones - normalized to sum to one like Optuna's evaluators. It is a
    marginal, one-parameter-at-a-time estimate: interactions are not captured.

    Args:
        frame: The runs (finished runs of the primary objective are used).
        params: Candidate ``params.*`` columns (usually the varying ones).

    Returns:
        Importances sorted descending (empty with a note when there is too little data).
    """
    import pandas as pd

    done = finished(frame)
    if len(done) < 3:
        return Importance(TABLE_IMPORTANCE_METHOD, {}, "fewer than 3 finished runs", n=len(done))
    target = done["value"].astype(float).rank()
    raw: dict[str, float] = {}
    for column in params:
        if column == SEED_PARAM or column not in done.columns:
            continue
        cells = done[column]
        numeric = pd.to_numeric(cells, errors="coerce")
        is_bool = cells.map(lambda v: isinstance(v, bool)).any()
        if numeric.notna().all() and not is_bool:
            if numeric.nunique() < 2:
                continue
            rho = numeric.rank().corr(target)
            raw[column[len(PARAM_PREFIX) :]] = 0.0 if math.isnan(rho) else float(rho) ** 2
        else:
            labels = cells.map(_label)
            if labels.nunique() < 2:
                continue
            total = float(((target - target.mean()) ** 2).sum())
            means = target.groupby(labels.to_numpy()).transform("mean")
            between = float(((means - target.mean()) ** 2).sum())
            raw[column[len(PARAM_PREFIX) :]] = between / total if total > 0 else 0.0
    total = sum(raw.values())
    values = {k: (v / total if total > 0 else 0.0) for k, v in raw.items()}
    ranked = dict(sorted(values.items(), key=lambda kv: -kv[1]))
    return Importance(TABLE_IMPORTANCE_METHOD, ranked, n=len(done))
