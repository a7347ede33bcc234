"""Open an HTML file in Debian's headless chromium, offline, and read back the DOM.

Used by the HTML report tests; they skip when ``/usr/bin/chromium`` is absent (``.ci/run``
installs it).
"""

from __future__ import annotations

import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

CHROMIUM = Path("/usr/bin/chromium")

# Headless, no sandbox (CI runs as root), no GPU (software WebGL for plotly's parcoords),
# and nothing that would reach the network on its own.
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--enable-unsafe-swiftshader",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-extensions",
    "--virtual-time-budget=15000",  # lets the page's scripts and plotly's promises settle
]


@dataclass
class Page:
    """What chromium made of a page: per-chart SVG counts and script errors."""

    dom: str
    charts: dict[str, int]
    errors: str | None


def _run(args: list[str], profile: Path, timeout: float) -> subprocess.CompletedProcess[str]:
    command = [str(CHROMIUM), *FLAGS, f"--user-data-dir={profile}", *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=timeout)


def render(html: Path, workdir: Path, timeout: float = 120) -> Page:
    """Load ``html`` (a file URL) and parse the DOM after its scripts ran."""
    proc = _run(["--dump-dom", html.resolve().as_uri()], workdir / "profile", timeout)
    dom = proc.stdout
    charts: dict[str, int] = {}
    # Each chart lives in <section class="hpt-chart" data-chart="KEY">; a rendered plotly
    # chart holds <svg class="main-svg"> elements (the inlined plotly.js source only
    # mentions the class name in strings, never as an element).
    for part in dom.split('class="hpt-chart"')[1:]:
        key = re.search(r'data-chart="([\w-]+)"', part)
        if key:
            charts[key.group(1)] = len(re.findall(r'<svg[^>]*class="main-svg"', part))
    head = re.search(r"<html[^>]*>", dom)
    errors = re.search(r'data-hpt-errors="([^"]*)"', head.group(0)) if head else None
    if head is None:
        errors_text: str | None = (
            f"no <html> in the DOM dump (rc {proc.returncode}): {proc.stderr[-500:]}"
        )
    else:
        errors_text = errors.group(1) if errors else None
    return Page(dom, charts, errors_text)


def screenshot(html: Path, out: Path, workdir: Path, timeout: float = 120) -> Path:
    """A full-height PNG of the page (attached to failure messages)."""
    _run(
        ["--window-size=1280,4000", f"--screenshot={out}", html.resolve().as_uri()],
        workdir / "profile-shot",
        timeout,
    )
    return out
