"""``--html FILE``: one self-contained HTML report of a sweep (plotly, no network).

The file holds the report's tables and interactive charts (``hpt.summarize.charts``, whose
figure functions are importable from here too). plotly.js is inlined once, so the page
opens offline. plotly is an optional extra (``hpt[report]``) and is imported only by this
module and the charts.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from html import escape
from pathlib import Path
from typing import TYPE_CHECKING

from hpt.rundir import atomic_write_text
from hpt.summarize import analysis
from hpt.summarize.charts import (
    importance_figure,
    parallel_figure,
    pareto_figure,
    timeline_figure,
)
from hpt.summarize.collect import Collection
from hpt.summarize.columns import log_searched, tuned_params
from hpt.summarize.curves import curves_figure, history_figure
from hpt.summarize.mixed import is_mixed, per_sweep, sweep_labels
from hpt.summarize.query import primary_objective
from hpt.summarize.render import Section, render_html
from hpt.summarize.use import TITLE as USE_TITLE

if TYPE_CHECKING:
    import optuna
    import pandas as pd
    from plotly.graph_objects import Figure

INSTALL_HINT = "pip install 'hpt[report]' (from a checkout: pip install '.[report]')"


class HtmlUnavailable(Exception):
    """plotly is not installed (the message is one line with the install command)."""


def require_plotly() -> None:
    """Raise ``HtmlUnavailable`` unless plotly can be imported."""
    try:
        import plotly  # noqa: F401
    except ImportError:
        raise HtmlUnavailable(f"--html needs plotly: {INSTALL_HINT}") from None


@dataclass
class Chart:
    """One chart of the report: its id (``chart-<key>``), title and figure."""

    key: str
    title: str
    figure: Figure
    note: str | None = None


# --- the page -----------------------------------------------------------------------------

_STYLE = """
body { font-family: system-ui, sans-serif; margin: 24px auto; max-width: 1200px; color: #222; }
table { border-collapse: collapse; font-size: 13px; margin: 6px 0; }
th, td { padding: 3px 10px; border-bottom: 1px solid #ddd; text-align: left; }
th.num, td.num { text-align: right; }
p.note { color: #666; font-size: 13px; }
pre.commands { background: #f5f5f5; padding: 8px 12px; font-size: 13px; overflow-x: auto; }
.hpt-chart { margin: 24px 0; }
.hpt-section { overflow-x: auto; }
"""

# Any script error is written into the page, so a headless browser's DOM dump shows it.
_ERROR_HOOK = """<script>
window.hptErrors = [];
window.onerror = function (message, source, line) {
  window.hptErrors.push(String(message) + " (" + source + ":" + line + ")");
  document.documentElement.setAttribute("data-hpt-errors", window.hptErrors.join(" | "));
};
</script>"""


def build_charts(
    collection: Collection,
    frame: pd.DataFrame,
    importance: analysis.Importance | None,
    study: optuna.Study | None = None,
) -> list[Chart]:
    """Every chart that applies to ``frame`` (charts with nothing to show are left out).

    Args:
        collection: Everything collected (objective directions).
        frame: The runs to report (filtered, ranked).
        importance: The importance the tables show (None: no importance chart).
        study: The sweep's study when exactly one is loaded (Optuna's Pareto plot).

    Returns:
        The charts, in page order; one set per sweep when the sweeps differ in their data or
        objective (``hpt.summarize.mixed``), as the tables are.
    """
    if is_mixed(frame):
        return [
            Chart(f"{chart.key}-{n}", f"{label}: {chart.title}", chart.figure, chart.note)
            for n, (label, sub) in enumerate(per_sweep(frame))
            for chart in build_charts(collection, sub, None)
        ]
    directions = collection.directions
    objective = primary_objective(frame) or "objective"
    log = log_searched(frame) or set()
    params = tuned_params(frame)
    caption = importance_caption(importance) if importance else None
    jobs: list[tuple[str, str, Callable[[], Figure | None], str | None]] = [
        (
            "history",
            f"Optimisation history ({objective})",
            lambda: history_figure(frame, directions),
            None,
        ),
        (
            "parallel",
            "Parallel coordinates",
            lambda: parallel_figure(frame, params, directions, log),
            None,
        ),
        (
            "importance",
            "Hyperparameter importance",
            lambda: importance_figure(importance) if importance else None,
            caption,
        ),
        ("curves", f"Learning curves ({objective})", lambda: curves_figure(frame), None),
        ("pareto", "Pareto front", lambda: pareto_figure(frame, directions, study), None),
        ("timeline", "Worker timeline", lambda: timeline_figure(frame), None),
    ]
    charts = []
    for key, title, job, note in jobs:
        figure = job()
        if figure is not None:
            charts.append(Chart(key, title, figure, note))
    return charts


def importance_caption(importance: analysis.Importance) -> str:
    """How the importance was computed and how many finished trials it rests on.

    Args:
        importance: The importance the report shows.

    Returns:
        One line: the method, the trial count (and whether it is a rough estimate), the note.
    """
    parts = [importance.method]
    if importance.n is not None:
        rough = ", a rough estimate" if (importance.basis() or "").endswith("rough") else ""
        parts.append(f"n={importance.n} finished trials{rough}")
    if importance.note:
        parts.append(importance.note)
    return "; ".join(parts)


def render_page(title: str, sections: list[Section], charts: list[Chart]) -> str:
    """The whole HTML document: tables first, then the charts (plotly.js inlined once).

    Args:
        title: The page's title and heading.
        sections: The report's tables.
        charts: The charts (``build_charts``).

    Returns:
        The page's text.
    """
    import plotly.io as pio

    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>{escape(title)}</title>",
        f"<style>{_STYLE}</style>",
        _ERROR_HOOK,
        "</head><body>",
        f"<h1>{escape(title)}</h1>",
        render_html([s for s in sections if not s.title.startswith(USE_TITLE)]),
    ]
    for n, chart in enumerate(charts):
        div = pio.to_html(
            chart.figure,
            full_html=False,
            include_plotlyjs=n == 0,  # inlined once: the page needs no network
            div_id=f"chart-{chart.key}",
            config={"displaylogo": False, "responsive": True},
        )
        parts.append(f'<section class="hpt-chart" data-chart="{chart.key}">')
        parts.append(f"<h2>{escape(chart.title)}</h2>")
        if chart.note:
            parts.append(f'<p class="note">{escape(chart.note)}</p>')
        parts += [div, "</section>"]
    closing = [s for s in sections if s.title.startswith(USE_TITLE)]  # after the charts
    parts.append(render_html(closing))
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"


def write_html(
    path: str | Path,
    collection: Collection,
    frame: pd.DataFrame,
    sections: list[Section],
    importance: analysis.Importance | None,
    study: optuna.Study | None = None,
) -> list[str]:
    """Write the report to ``path`` atomically.

    Args:
        path: The HTML file.
        collection: Everything collected (sweep metadata, directions).
        frame: The runs to report (filtered, ranked).
        sections: The report's tables (``report.build_report``).
        importance: The importance shown in the tables, drawn as a chart.
        study: The sweep's study when exactly one is loaded (Optuna's Pareto plot).

    Returns:
        The keys of the charts written, in page order.
    """
    require_plotly()
    charts = build_charts(collection, frame, importance, study)
    names = sorted(sweep_labels(frame["sweep_dir"].dropna().tolist()).values())  # folders
    title = "hpt report: " + (", ".join(names) if names else "runs")
    atomic_write_text(path, render_page(title, sections, charts))
    return [c.key for c in charts]
