"""The report's "best run" section: the best run's settings that differ from its sweep's.

The most common value of each parameter among the sweep's runs is what the best run is
compared against; its Hydra overrides (``.hydra/overrides.yaml``) are shown as given, less
those hpt adds itself.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from hpt.rundir import read_text
from hpt.summarize import analysis
from hpt.summarize.collect import Collection
from hpt.summarize.query import is_missing, rank_runs
from hpt.summarize.render import Column, Section, fmt

if TYPE_CHECKING:
    import pandas as pd

#: Overrides hpt adds itself (a sweep's trials run quiet): not the user's choices.
INTERNAL_OVERRIDES = frozenset({"trainer.quiet=true", "trainer.quiet=True"})


def read_overrides(run: str | Path) -> list[str]:
    """The Hydra overrides of a run (``.hydra/overrides.yaml``, a YAML list of strings).

    Parsed by hand because the file is a flat list and importing YAML is not worth it here.

    Args:
        run: The run directory.

    Returns:
        The overrides as given (quotes around an item removed); empty when the file is
        missing, unreadable or not UTF-8.
    """
    text = read_text(Path(run) / ".hydra" / "overrides.yaml")
    if text is None:  # missing, unreadable or not UTF-8: the report goes on without it
        return []
    out = []
    for line in text.splitlines():
        line = line.strip()
        if line.startswith("- "):
            item = line[2:].strip()
            if len(item) >= 2 and item[0] == item[-1] and item[0] in "'\"":
                item = item[1:-1]
            out.append(item)
    return out


def best_config_section(collection: Collection, ranked: pd.DataFrame) -> Section | None:
    """The best run's parameters that differ from its sweep's typical (most common) values.

    Args:
        collection: Everything collected (the best run's sweep-mates and search space).
        ranked: The selected runs.

    Returns:
        The section, or None when no selected run finished.
    """
    done = analysis.finished(ranked)
    if done.empty:
        return None
    best = rank_runs(done).iloc[0]
    sweep_dir = best["sweep_dir"]
    everything = collection.frame
    if isinstance(sweep_dir, str):
        peers = everything[everything["sweep_dir"] == sweep_dir]
        space = collection.sweeps[sweep_dir].search_space if sweep_dir in collection.sweeps else {}
    else:
        peers = everything[everything["sweep_dir"].isna()]
        space = {}
    diffs = analysis.best_config_diff(best, peers, space)
    lines = [f"run: {Path(best['run']).resolve()}"]
    overrides = [o for o in read_overrides(best["run"]) if o not in INTERNAL_OVERRIDES]
    if overrides:
        lines.append("overrides: " + " ".join(overrides))
    rows = [
        [
            d.param,
            fmt(d.best),
            "(all distinct)" if d.typical is None else f"{fmt(d.typical)} ({d.share:.0%})",
            "yes" if d.searched else "",
        ]
        for d in diffs[:40]
    ]
    objective = (
        f"{best['objective']} = {fmt(best['value'])}" if not is_missing(best["value"]) else ""
    )
    return Section(
        f"Best run {best['name']} ({objective}) vs the sweep's most common values",
        lines=lines,
        columns=[Column("param"), Column("best"), Column("most common"), Column("searched")],
        rows=rows,
        note=None if rows else "the best run uses the most common value of every parameter",
    )
