"""Format-neutral report sections and their renderers (rich terminal, Markdown).

The report is built once as a list of ``Section`` objects holding preformatted text, so the
terminal and Markdown outputs always say the same thing.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rich.console import Console

#: Widest a column is assumed to need when deciding what fits a narrow terminal.
_MAX_COLUMN = 28


@dataclass
class Column:
    """One table column.

    Attributes:
        header: Header text.
        right: Right-justify (numbers).
        optional: May be hidden when the terminal is too narrow (hyperparameters).
        priority: Among optional columns, lower values are kept first.
    """

    header: str
    right: bool = False
    optional: bool = False
    priority: int = 0


@dataclass
class Section:
    """A titled block: some text lines and/or a table, and an optional footnote."""

    title: str
    lines: list[str] = field(default_factory=list)
    columns: list[Column] = field(default_factory=list)
    rows: list[list[str]] = field(default_factory=list)
    note: str | None = None
    commands: list[str] = field(default_factory=list)  # shell lines, never wrapped


def fmt(value: Any, digits: int = 4) -> str:
    """Compact text for a cell: ``-`` for missing, 4 significant digits for floats.

    Args:
        value: A cell (numpy scalars included).
        digits: Significant digits of a float that is not a whole number.

    Returns:
        The text.
    """
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        if math.isnan(value):
            return "-"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        if value.is_integer() and abs(value) < 1e15:
            return str(int(value))
        return format(value, f".{digits}g")
    if isinstance(value, int):
        return str(value)
    if hasattr(value, "item"):  # numpy scalars
        return fmt(value.item(), digits)
    return str(value)


def fmt_duration(seconds: Any) -> str:
    """``42.0s``, ``3m05s``, ``1h02m``; ``-`` when missing.

    Args:
        seconds: A duration in seconds (anything ``float`` accepts).

    Returns:
        The text.
    """
    try:
        s = float(seconds)
    except (TypeError, ValueError):
        return "-"
    if math.isnan(s):
        return "-"
    if s < 60:
        return f"{s:.1f}s"
    if s < 3600:
        return f"{int(s // 60)}m{int(s % 60):02d}s"
    return f"{int(s // 3600)}h{int(s % 3600 // 60):02d}m"


def _fit(section: Section, width: int) -> tuple[list[int], str | None]:
    """Indices of columns to show within ``width`` and a note naming the hidden ones."""
    sizes = []
    for i, column in enumerate(section.columns):
        cells = [len(row[i]) for row in section.rows if i < len(row)]
        # cell + 1 space padding each side + 1 separator (box.SIMPLE_HEAD, no edges)
        sizes.append(min(max([len(column.header), *cells]), _MAX_COLUMN) + 3)
    keep = [i for i, c in enumerate(section.columns) if not c.optional]
    used = sum(sizes[i] for i in keep) - 3  # the outer edges have no padding
    hidden = []
    optional = [i for i, c in enumerate(section.columns) if c.optional]
    for i in sorted(optional, key=lambda i: section.columns[i].priority):
        column = section.columns[i]
        if used + sizes[i] <= width:
            keep.append(i)
            used += sizes[i]
        else:
            hidden.append(column.header)
    keep.sort()
    if not hidden:
        return keep, None
    shown = ", ".join(hidden[:6]) + (f" +{len(hidden) - 6} more" if len(hidden) > 6 else "")
    return keep, f"{len(hidden)} column(s) hidden to fit {width} chars: {shown} (use --columns)"


def render_rich(sections: list[Section], console: Console) -> None:
    """Print the sections to a rich console (plain text when it has no color system).

    Optional columns that would not fit the console's width are hidden, the least important
    first, and a note names them.

    Args:
        sections: The sections, in order.
        console: Where to print.
    """
    from rich import box
    from rich.table import Table
    from rich.text import Text

    for n, section in enumerate(sections):
        if n:
            console.print()
        if section.title:
            console.print(Text(section.title, style="bold"))
        for line in section.lines:
            console.print(Text(line))
        for command in section.commands:  # one line each, so a copy pastes as it runs
            console.print(Text(command), soft_wrap=True)
        if section.columns and section.rows:
            keep, hidden_note = _fit(section, console.width)
            table = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False, header_style="bold")
            for i in keep:
                column = section.columns[i]
                table.add_column(
                    column.header, justify="right" if column.right else "left", overflow="fold"
                )
            for row in section.rows:
                table.add_row(*(row[i] for i in keep))
            console.print(table)
            if hidden_note:
                console.print(Text(hidden_note, style="dim"))
        if section.note:
            console.print(Text(section.note, style="dim"))


def _md_cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def render_markdown(sections: list[Section]) -> str:
    """The sections as GitHub-flavoured Markdown (tables never drop columns).

    Args:
        sections: The sections, in order.

    Returns:
        The Markdown text (ending in a newline).
    """
    out: list[str] = []
    for section in sections:
        if section.title:
            out += [f"### {_md_cell(section.title)}", ""]
        if section.lines:
            out += [f"{line}  " for line in section.lines] + [""]
        if section.commands:
            out += ["```bash", *section.commands, "```", ""]
        if section.columns and section.rows:
            out.append("| " + " | ".join(_md_cell(c.header) for c in section.columns) + " |")
            out.append("|" + "|".join("---:" if c.right else "---" for c in section.columns) + "|")
            out += [
                "| " + " | ".join(_md_cell(cell) for cell in row) + " |" for row in section.rows
            ]
            out.append("")
        if section.note:
            out += [f"_{_md_cell(section.note)}_", ""]
    return "\n".join(out).rstrip() + "\n"


def render_html(sections: list[Section]) -> str:
    """The sections as HTML fragments (tables never drop columns), text escaped.

    Args:
        sections: The sections, in order.

    Returns:
        The HTML of the sections (no page around them).
    """
    from html import escape

    out: list[str] = []
    for section in sections:
        out.append('<section class="hpt-section">')
        if section.title:
            out.append(f"<h2>{escape(section.title)}</h2>")
        out += [f"<p>{escape(line)}</p>" for line in section.lines]
        if section.commands:
            out.append(f'<pre class="commands">{escape(chr(10).join(section.commands))}</pre>')
        if section.columns and section.rows:
            out.append("<table><thead><tr>")
            out += [
                f'<th class="{"num" if c.right else ""}">{escape(c.header)}</th>'
                for c in section.columns
            ]
            out.append("</tr></thead><tbody>")
            for row in section.rows:
                cells = (
                    f'<td class="{"num" if c.right else ""}">{escape(cell)}</td>'
                    for c, cell in zip(section.columns, row)
                )
                out.append("<tr>" + "".join(cells) + "</tr>")
            out.append("</tbody></table>")
        if section.note:
            out.append(f'<p class="note">{escape(section.note)}</p>')
        out.append("</section>")
    return "\n".join(out) + "\n"
