"""The importance every output shares, and the study it (and the plots) may come from.

A sweep's Optuna study is opened at most once per command, and only when one sweep is
selected, it has a storage and ``--no-study`` is off; otherwise importance is computed from
the runs table. Only the standard library is imported here: optuna, pandas and scikit-learn
come with the functions that need them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import optuna
    import pandas as pd

    from hpt.summarize.analysis import Importance
    from hpt.summarize.collect import Collection, SweepInfo


def single_sweep(frame: pd.DataFrame, collection: Collection) -> SweepInfo | None:
    """The sweep every row belongs to, if there is exactly one.

    Args:
        frame: The selected runs (a ``sweep_dir`` column).
        collection: Everything collected, with the sweeps met.

    Returns:
        The sweep's metadata, or None for runs of several sweeps or standalone runs.
    """
    dirs = set(frame["sweep_dir"].tolist())
    if len(dirs) != 1:
        return None
    only = next(iter(dirs))
    return collection.sweeps.get(only) if isinstance(only, str) else None


class StudyCache:
    """Opens the sweep's study at most once, for importance and plots alike."""

    def __init__(self, enabled: bool, warn: Callable[[str], None]) -> None:
        """Remember nothing yet.

        Args:
            enabled: False for ``--no-study``: ``get`` then always answers None.
            warn: Prints a one-line warning (a study that cannot be opened).
        """
        self.enabled = enabled
        self.warn = warn
        self._loaded: dict[str, optuna.Study | None] = {}

    def get(self, sweep: SweepInfo | None) -> optuna.Study | None:
        """The sweep's study, loaded the first time it is asked for.

        Args:
            sweep: The sweep (None: no single sweep is selected).

        Returns:
            The study, or None when disabled, there is no storage or it cannot be read
            (then one warning is printed, once).
        """
        from hpt.summarize.study import StudyUnavailable, has_storage, load_study

        if not self.enabled or sweep is None or not has_storage(sweep):
            return None
        key = str(sweep.path)
        if key not in self._loaded:
            try:
                self._loaded[key] = load_study(sweep)
            except StudyUnavailable as exc:
                self.warn(f"{exc}; using the runs table instead")
                self._loaded[key] = None
        return self._loaded[key]


class SharedImportance:
    """Importance of the selected runs: the study's when it can be had, else the table's.

    Calling it computes once and hands the same result out again (the report and the HTML
    page show the same numbers); ``value`` is that result, None until the first call.
    """

    def __init__(
        self,
        collection: Collection,
        studies: StudyCache,
        filtered: bool,
        warn: Callable[[str], None],
    ) -> None:
        """Compute nothing yet.

        Args:
            collection: Everything collected (the sweeps' objectives).
            studies: Where the study comes from.
            filtered: Whether ``--where`` selected runs (the study's importance ignores it,
                and says so in its note).
            warn: Prints a one-line warning (a study whose importance fails).
        """
        self.collection = collection
        self.studies = studies
        self.filtered = filtered
        self.warn = warn
        self.value: Importance | None = None

    def __call__(self, frame: pd.DataFrame) -> Importance:
        """The remembered importance, computed for ``frame`` on the first call.

        Args:
            frame: The selected runs.

        Returns:
            The importance first computed.
        """
        if self.value is None:
            self.value = self.compute(frame)
        return self.value

    def compute(self, frame: pd.DataFrame) -> Importance:
        """Compute the importance for ``frame`` afresh (nothing is remembered).

        Args:
            frame: The selected runs.

        Returns:
            The study's importance (fANOVA) when one sweep with a readable study is
            selected, else the importance estimated from the runs table.
        """
        from hpt.summarize.analysis import table_importance
        from hpt.summarize.columns import varying_params, without_redundant_targets
        from hpt.summarize.query import primary_objective
        from hpt.summarize.study import StudyUnavailable, study_importance

        sweep = single_sweep(frame, self.collection)
        study = self.studies.get(sweep)
        if study is not None and sweep is not None:
            objective = primary_objective(frame)
            index = sweep.objectives.index(objective) if objective in sweep.objectives else 0
            try:
                result = study_importance(study, index)
                if self.filtered:
                    result.note = "computed on the whole study (--where not applied)"
                return result
            except StudyUnavailable as exc:
                self.warn(f"{exc}; using table-based importance")
        return table_importance(frame, without_redundant_targets(varying_params(frame)))
