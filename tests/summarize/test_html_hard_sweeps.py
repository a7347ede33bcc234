"""The HTML report on a sweep that breaks naive charts: a regression sweep of 64 epochs with
one diverged trial (val/loss 70 at the end, 25,000 on the way), AdamW and SGD trials (AdamW's
betas and eps missing from the SGD ones). Opened in headless chromium, offline."""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

import pytest
from helpers import browser
from helpers.summarize_fixtures import write_run, write_sweep

from hpt.summarize.axes import epoch_axis, value_axis
from hpt.summarize.cli import main
from hpt.summarize.collect import collect_runs
from hpt.summarize.html import build_charts

EPOCHS = 64
FINALS = [0.31, 0.24, 0.36, 0.21, 0.40, 0.28, None, 0.33]  # trial 6 diverges; 3 is the best


def regression_sweep(path: Path) -> Path:
    sweep = write_sweep(
        path,
        study_name="tpe",
        directions=["minimize"],
        objectives=["val/loss"],
        search_space={"optimizer.lr": "tag(log, interval(1e-4, 1e-1))", "optimizer": "choice"},
    )
    for number, final in enumerate(FINALS):
        adamw = number % 2 == 1
        params = {
            "optimizer.name": "adamw" if adamw else "sgd",
            "optimizer._target_": "torch.optim.AdamW" if adamw else "torch.optim.SGD",
            "optimizer.lr": 10 ** (-4 + number * 0.4),
            **({"optimizer.betas": [0.9, 0.999], "optimizer.eps": 1e-8} if adamw else {}),
        }
        run = write_run(
            sweep / f"trial_{number:04d}",
            trial=number,
            study_name="tpe",
            value=70.0 if final is None else final,
            objective="val/loss",
            direction="minimize",
            epochs=EPOCHS,
            params=params,
        )
        rows = []
        for epoch in range(1, EPOCHS + 1):
            diverged = min(1.18**epoch, 25000.0)
            loss = diverged if final is None else final + 1.5 * math.exp(-epoch / 6)
            rows.append({"epoch": epoch, "train/loss": loss, "val/loss": loss, "lr": 1e-3})
        (run / "metrics.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    return sweep


def test_axes_leave_a_diverged_trial_at_the_edge_and_label_epochs_sparsely() -> None:
    good = [0.21, 0.24, 0.28, 0.31, 0.33, 0.36, 0.40]
    axis = value_axis([*good, 70.0], "val/loss")
    assert axis.log and axis.lo is not None and axis.hi is not None
    assert axis.lo <= 0.21 and 0.40 <= axis.hi < 1.0  # the good trials fill the chart
    assert axis.side(70.0) == "above" and axis.side(0.3) is None
    assert not value_axis([0.5, 0.6, 0.7], "val/acc").log  # no outlier, no loss: as it is
    acc = value_axis([0.95, 0.96, 0.97, 0.96, 0.11], "val/acc")
    assert not acc.log and acc.side(0.11) == "below" and acc.side(0.95) is None
    assert epoch_axis(8)["dtick"] == 1  # every epoch of a short run
    assert "dtick" not in epoch_axis(EPOCHS)  # plotly picks whole-number ticks for the width


def test_charts_highlight_the_best_trial_and_mark_what_is_off_the_chart(tmp_path: Path) -> None:
    sweep = regression_sweep(tmp_path / "tpe-house-1a2b3c4d")
    collection = collect_runs([sweep])
    charts = {c.key: c.figure for c in build_charts(collection, collection.frame, None)}

    history = charts["history"]
    assert history.layout.yaxis.type == "log"  # losses spanning 0.21 .. 70
    assert 10 ** history.layout.yaxis.range[1] < 1.0  # 70 is not on the axis ...
    (above,) = [t for t in history.data if t.name == "off the chart (above)"]
    assert list(above.x) == [6.0] and "trial_0006: 70" in above.hovertext[0]  # ... but marked
    (star,) = [t for t in history.data if t.name == "best: trial_0003"]
    assert list(star.x) == [3.0] and star.marker.symbol == "star"

    curves = charts["curves"]
    assert curves.layout.yaxis.type == "log" and 10 ** curves.layout.yaxis.range[1] < 100
    best = curves.data[[t.name for t in curves.data].index("best: trial_0003")]
    assert best.line.width > max(t.line.width or 0 for t in curves.data if t is not best)
    lines = [t for t in curves.data if t.mode == "lines"]
    assert lines[-1] is best  # drawn last: on top of the others
    assert curves.layout.xaxis.dtick is None  # 64 epochs: not every one labelled


@pytest.mark.skipif(not browser.CHROMIUM.exists(), reason="/usr/bin/chromium is absent")
def test_the_page_renders_readable_axes_a_lean_table_and_the_commands(tmp_path: Path) -> None:
    sweep = regression_sweep(tmp_path / "tpe-house-1a2b3c4d")
    html = tmp_path / "report.html"
    assert main([str(sweep), "--html", str(html), "--width", "160"]) == 0
    page = browser.render(html, tmp_path)
    assert page.errors is None and all(page.charts.values()), (page.errors, page.charts)
    sections = {
        key: part
        for part in page.dom.split('class="hpt-chart"')[1:]
        for key in re.findall(r'^ data-chart="([\w-]+)"', part)
    }
    ticks = re.findall(r'<g class="xtick">\s*<text[^>]*>([^<]*)</text>', sections["curves"])
    assert 3 <= len(ticks) <= 13 and all(t.isdigit() for t in ticks), ticks
    ranked = page.dom[page.dom.index("8 runs, ranked by val/loss") :].split("</table>")[0]
    headers = re.findall(r"<th[^>]*>([^<]*)</th>", ranked)
    assert "optimizer.name" in headers and "optimizer.lr" in headers
    for constant in ("optimizer._target_", "optimizer.betas", "optimizer.eps"):
        assert constant not in headers  # the choice says it; constants of a choice say nothing
    closing = page.dom.index("Use the best model")
    assert closing > page.dom.rindex('class="hpt-chart"')  # the page ends with it
    best = sweep / "trial_0003"
    for command in (f"hpt eval {best}", f"hpt predict {best} INPUT", f"hpt export {best} -o"):
        assert command in page.dom[closing:]


def test_sweeps_of_other_data_get_charts_of_their_own(tmp_path: Path) -> None:
    regression_sweep(tmp_path / "sweeps" / "tpe-house-1a2b3c4d")
    other = write_sweep(tmp_path / "sweeps" / "tpe-mnist-5e6f7a8b", study_name="tpe")
    for number, value in enumerate((0.91, 0.95, 0.93)):
        write_run(other / f"trial_{number:04d}", trial=number, study_name="tpe", value=value)
    collection = collect_runs([tmp_path / "sweeps"])
    charts = build_charts(collection, collection.frame, None)
    titles = [c.title for c in charts]
    assert "tpe-house-1a2b3c4d: Optimisation history (val/loss)" in titles
    assert "tpe-mnist-5e6f7a8b: Optimisation history (val/acc)" in titles
    assert len({c.key for c in charts}) == len(charts)  # one element id each
