"""Sphinx directives that draw the order state machine from the code.

``.. nicepay-state-diagram::`` renders an SVG of
:data:`flask_nicepay.machine.TRANSITIONS`
and ``.. nicepay-transitions::`` a table of the same data, at every build, so the
documentation cannot drift from the machine.
"""

from __future__ import annotations

import html
import math
import typing as t

from docutils import nodes
from docutils.statemachine import StringList
from sphinx.application import Sphinx
from sphinx.util.docutils import SphinxDirective

from flask_nicepay import machine

# Where each state sits: money flows left to right, trouble stays low.
POSITIONS = {
    "ready": (110, 230),
    "vbank_issued": (400, 90),
    "failed": (400, 370),
    "paid": (700, 230),
    "expired": (700, 60),
    "mismatch": (700, 400),
    "partially_cancelled": (1010, 130),
    "cancelled": (1010, 350),
}
BOX_W, BOX_H = 200, 44
LABEL = (
    "text-anchor='middle' font-size='12' fill='#1f5eff' stroke='#ffffff' "
    "stroke-width='4' paint-order='stroke'"
)


def _edge_point(x: float, y: float, dx: float, dy: float) -> tuple[float, float]:
    """Where a line from a box's centre towards (dx, dy) leaves the box."""
    if dx == 0 and dy == 0:
        return x, y
    scale = min(
        (BOX_W / 2) / abs(dx) if dx else math.inf,
        (BOX_H / 2) / abs(dy) if dy else math.inf,
    )
    return x + dx * scale, y + dy * scale


def render_svg() -> str:
    labels: dict[tuple[str, str], list[str]] = {}
    for source, dest, event in machine.edges():
        labels.setdefault((source.value, dest.value), []).append(event)
    parts = [
        '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 1120 450" '
        'class="nicepay-states" role="img" aria-label="Order state machine">',
        "<defs><marker id='arrow' viewBox='0 0 10 10' refX='9' refY='5' "
        "markerWidth='7' markerHeight='7' orient='auto-start-reverse'>"
        "<path d='M0,0 L10,5 L0,10 z' fill='#5f6b7a'/></marker></defs>",
    ]
    for (source, dest), events in labels.items():
        parts.append(_edge(source, dest, " / ".join(events)))
    for state, (x, y) in POSITIONS.items():
        final = machine.OrderState(state) in machine.FINAL_STATES
        fill = "#fde8e8" if final else "#eef3ff"
        parts.append(
            f"<rect x='{x - BOX_W / 2}' y='{y - BOX_H / 2}' width='{BOX_W}' "
            f"height='{BOX_H}' rx='10' fill='{fill}' stroke='#1d2129'/>"
            f"<text x='{x}' y='{y + 5}' text-anchor='middle' font-family='monospace' "
            f"font-size='15'>{state}</text>"
        )
    parts.append("</svg>")
    return "".join(parts)


def _edge(source: str, dest: str, label: str) -> str:
    x1, y1 = POSITIONS[source]
    x2, y2 = POSITIONS[dest]
    text = html.escape(label)
    if source == dest:
        top = y1 - BOX_H / 2
        return (
            f"<path d='M{x1 - 30},{top} C{x1 - 40},{top - 45} {x1 + 40},{top - 45} "
            f"{x1 + 30},{top}' fill='none' stroke='#5f6b7a' marker-end='url(#arrow)'/>"
            f"<text x='{x1}' y='{top - 38}' {LABEL}>{text}</text>"
        )
    sx, sy = _edge_point(x1, y1, x2 - x1, y2 - y1)
    ex, ey = _edge_point(x2, y2, x1 - x2, y1 - y2)
    # Bend every edge a little to one side, so opposite edges do not overlap.
    mx, my = (sx + ex) / 2, (sy + ey) / 2
    length = math.hypot(ex - sx, ey - sy) or 1
    cx, cy = mx - (ey - sy) / length * 34, my + (ex - sx) / length * 34
    # The label sits on the curve itself, halfway along.
    lx, ly = (sx + 2 * cx + ex) / 4, (sy + 2 * cy + ey) / 4
    return (
        f"<path d='M{sx:.1f},{sy:.1f} Q{cx:.1f},{cy:.1f} {ex:.1f},{ey:.1f}' "
        f"fill='none' stroke='#5f6b7a' marker-end='url(#arrow)'/>"
        f"<text x='{lx:.1f}' y='{ly + 4:.1f}' {LABEL}>{text}</text>"
    )


class StateDiagram(SphinxDirective):
    """The SVG diagram (HTML builders) of the state machine."""

    def run(self) -> list[nodes.Node]:
        return [nodes.raw("", render_svg(), format="html")]


class TransitionTable(SphinxDirective):
    """A table of every event, where it may start and where it leads."""

    def run(self) -> list[nodes.Node]:
        lines = [
            ".. list-table::",
            "   :header-rows: 1",
            "",
            "   * - event",
            "     - from",
            "     - to",
        ]
        for rule in machine.TRANSITIONS:
            sources = ", ".join(f"``{s.value}``" for s in rule["source"])
            lines += [
                f"   * - ``{rule['trigger']}``",
                f"     - {sources}",
                f"     - ``{rule['dest'].value}``",
            ]
        container = nodes.container()
        self.state.nested_parse(StringList(lines), self.content_offset, container)
        return list(container.children)


def setup(app: Sphinx) -> dict[str, t.Any]:
    app.add_directive("nicepay-state-diagram", StateDiagram)
    app.add_directive("nicepay-transitions", TransitionTable)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
