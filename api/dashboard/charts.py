"""Server-side SVG charts: horizontal bars, grouped columns, lines over cycles, and a tile map of the governorates.

Each function returns a complete `<svg>` element as `Markup`, to put in a page as it is: no script, no internet,
no inline `style` attribute (the page's Content-Security-Policy forbids them); colours come from CSS classes in
dashboard.css (`series-0`, `series-1`, ... and `live`/`not-live`). Every mark carries a `<title>` (its tooltip) and,
when given, links to the list behind it. Right-to-left pages get mirrored charts: categories run from the right and
the value axis stands on the right. Values are `Decimal`s; labels come already formatted by the caller.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from markupsafe import Markup, escape

ROW_H = 26
CHAR_W = 6.6  # an average glyph of the 11px chart font, to size label space
VALUE_W = 130
PLOT_H = 200
AXIS_W = 64
TOP = 12
BOTTOM = 52


@dataclass(frozen=True)
class Bar:
    label: str
    value: Decimal
    text: str
    href: str | None = None


@dataclass(frozen=True)
class Series:
    name: str
    values: Sequence[Decimal | None]
    texts: Sequence[str]
    hrefs: Sequence[str | None] = field(default_factory=tuple)


@dataclass(frozen=True)
class Tile:
    code: str
    label: str
    live: bool
    text: str
    href: str | None = None


def _svg(width: int, height: int, label: str, body: list[str]) -> Markup:
    head = (
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" viewBox="0 0 {width} {height}" '
        f'width="{width}" height="{height}" direction="ltr" role="img" aria-label="{escape(label)}">'
    )
    return Markup(head + f"<title>{escape(label)}</title>" + "".join(body) + "</svg>")


def _link(href: str | None, inner: str) -> str:
    return f'<a href="{escape(href)}">{inner}</a>' if href else inner


def _text(x: float, y: float, text: str, anchor: str, css: str = "label") -> str:
    return f'<text x="{x:.1f}" y="{y:.1f}" text-anchor="{anchor}" class="{css}">{escape(text)}</text>'


def nice_ceiling(value: Decimal) -> Decimal:
    """The smallest of 1, 2, 2.5, 5 x 10^n at or above `value` (1 for nothing), so axis ticks are round."""
    if value <= 0:
        return Decimal(1)
    power = Decimal(10) ** (value.adjusted())
    for step in (1, 2, Decimal("2.5"), 5, 10):
        if power * step >= value:
            return power * step
    return power * 10


def hbars(bars: Sequence[Bar], label: str, rtl: bool, width: int = 560, scale: Decimal | None = None) -> Markup:
    """One horizontal bar per row: its label on the reading side, its value text at the bar's end."""
    top = max((b.value for b in bars), default=Decimal(0))
    full = scale or nice_ceiling(top)
    label_w = int(min(max((len(b.label) for b in bars), default=4) * CHAR_W + 16, width / 2))
    plot = width - label_w - VALUE_W
    body = []
    for i, bar in enumerate(bars):
        y = TOP + i * ROW_H
        length = float(max(bar.value, Decimal(0)) / full) * plot if full else 0.0
        x = width - label_w - length if rtl else label_w
        name_x, name_anchor = (width - label_w + 8, "start") if rtl else (label_w - 8, "end")
        value_x, value_anchor = (x - 6, "end") if rtl else (x + length + 6, "start")
        rect = (
            f'<rect x="{x:.1f}" y="{y + 4}" width="{length:.1f}" height="{ROW_H - 8}" class="series-0">'
            f"<title>{escape(bar.label)}: {escape(bar.text)}</title></rect>"
        )
        body.append(_link(bar.href, rect))
        body.append(_text(name_x, y + ROW_H / 2 + 4, bar.label, name_anchor))
        body.append(_text(value_x, y + ROW_H / 2 + 4, bar.text, value_anchor, "value"))
    return _svg(width, TOP * 2 + ROW_H * max(len(bars), 1), label, body)


def _axis(width: int, full: Decimal, rtl: bool, tick_text: Callable[[Decimal], str]) -> list[str]:
    body = []
    ticks = _ticks(full)
    for n in range(ticks + 1):
        value = full * n / ticks
        y = TOP + PLOT_H - PLOT_H * n / ticks
        x0, x1 = (0, width - AXIS_W) if rtl else (AXIS_W, width)
        body.append(f'<line x1="{x0}" y1="{y:.1f}" x2="{x1}" y2="{y:.1f}" class="grid"/>')
        tx, anchor = (width - AXIS_W + 6, "start") if rtl else (AXIS_W - 6, "end")
        body.append(_text(tx, y + 4, tick_text(value), anchor, "tick"))
    return body


def _ticks(full: Decimal) -> int:
    """How many steps up to the axis top, so each tick is round: 5 for a top of 5 or 2.5 (x 10^n), else 4."""
    leading = full.scaleb(-full.adjusted()).normalize()
    return 5 if leading in (5, Decimal("2.5")) else 4


def _legend(series: Sequence[Series], width: int, y: float, rtl: bool) -> list[str]:
    body, step = [], 130
    for i, s in enumerate(series):
        x = width - AXIS_W - (i + 1) * step if rtl else AXIS_W + i * step
        body.append(f'<rect x="{x}" y="{y - 10}" width="12" height="12" class="series-{i}"/>')
        body.append(_text(x + 18, y, s.name, "start", "legend"))
    return body


def _slots(count: int, width: int, rtl: bool) -> list[tuple[float, float]]:
    """(left x, width) of each category's slot along the plot, mirrored for right-to-left."""
    plot = width - AXIS_W - 8
    slot = plot / max(count, 1)
    slots = []
    for i in range(count):
        left = AXIS_W + i * slot
        slots.append((width - left - slot, slot) if rtl else (left, slot))
    return slots


def columns(
    categories: Sequence[str],
    series: Sequence[Series],
    label: str,
    rtl: bool,
    tick_text: Callable[[Decimal], str],
    width: int = 600,
) -> Markup:
    """Grouped vertical bars: one group per category, one bar per series, a legend below."""
    values = [v for s in series for v in s.values if v is not None]
    full = nice_ceiling(max(values, default=Decimal(0)))
    body = _axis(width, full, rtl, tick_text)
    base = TOP + PLOT_H
    for c, (left, slot) in enumerate(_slots(len(categories), width, rtl)):
        bar_w = slot * 0.8 / max(len(series), 1)
        for k, s in enumerate(series):
            value = s.values[c] or Decimal(0)
            h = float(max(value, Decimal(0)) / full) * PLOT_H
            order = len(series) - 1 - k if rtl else k
            x = left + slot * 0.1 + order * bar_w
            rect = (
                f'<rect x="{x:.1f}" y="{base - h:.1f}" width="{bar_w - 2:.1f}" height="{h:.1f}" '
                f'class="series-{k}"><title>{escape(categories[c])}, {escape(s.name)}: {escape(s.texts[c])}'
                f"</title></rect>"
            )
            body.append(_link(s.hrefs[c] if c < len(s.hrefs) else None, rect))
        body.append(_category(left + slot / 2, base + 16, categories[c], slot))
    body += _legend(series, width, base + 44, rtl)
    return _svg(width, TOP + PLOT_H + BOTTOM, label, body)


def _category(x: float, y: float, text: str, room: float) -> str:
    """A category label under its slot, on two lines when one would run into the next slot's."""
    words = text.split(" ")
    if len(text) * CHAR_W <= room or len(words) == 1:
        return _text(x, y, text, "middle")
    half = (len(words) + 1) // 2
    first, second = " ".join(words[:half]), " ".join(words[half:])
    return (
        f'<text x="{x:.1f}" y="{y:.1f}" text-anchor="middle" class="label">{escape(first)}'
        f'<tspan x="{x:.1f}" dy="12">{escape(second)}</tspan></text>'
    )


def lines(
    categories: Sequence[str],
    series: Sequence[Series],
    label: str,
    rtl: bool,
    tick_text: Callable[[Decimal], str],
    full: Decimal | None = None,
    width: int = 600,
) -> Markup:
    """One line per series over the categories (cycles), with a dot and its value at each point."""
    values = [v for s in series for v in s.values if v is not None]
    full = full or nice_ceiling(max(values, default=Decimal(0)))
    body = _axis(width, full, rtl, tick_text)
    base = TOP + PLOT_H
    slots = _slots(len(categories), width, rtl)
    for k, s in enumerate(series):
        points = []
        for c, (left, slot) in enumerate(slots):
            if s.values[c] is None:
                continue
            x, y = left + slot / 2, base - float(s.values[c] / full) * PLOT_H  # type: ignore[operator]
            points.append(f"{x:.1f},{y:.1f}")
            dot = (
                f'<circle cx="{x:.1f}" cy="{y:.1f}" r="5" class="series-{k}">'
                f"<title>{escape(categories[c])}, {escape(s.name)}: {escape(s.texts[c])}</title></circle>"
            )
            body.append(_link(s.hrefs[c] if c < len(s.hrefs) else None, dot))
            body.append(_text(x, y - 10, s.texts[c], "middle", "value"))
        body.insert(0, f'<polyline points="{" ".join(points)}" class="line series-{k}"/>')
    for c, (left, slot) in enumerate(slots):
        body.append(_category(left + slot / 2, base + 16, categories[c], slot))
    body += _legend(series, width, base + 44, rtl)
    return _svg(width, TOP + PLOT_H + BOTTOM, label, body)


# Where each governorate sits on a 5 x 5 schematic grid of Syria (column from the west, row from the north).
GRID = {
    "SY-ID": (1, 0),
    "SY-HL": (2, 0),
    "SY-RA": (3, 0),
    "SY-HA": (4, 0),
    "SY-LA": (0, 1),
    "SY-HM": (1, 1),
    "SY-DY": (3, 1),
    "SY-TA": (0, 2),
    "SY-HI": (1, 2),
    "SY-RD": (1, 3),
    "SY-DI": (2, 3),
    "SY-QU": (0, 4),
    "SY-DR": (1, 4),
    "SY-SU": (2, 4),
}
TILE = 112


def tile_map(tiles: Sequence[Tile], label: str) -> Markup:
    """The governorates as tiles placed roughly where they lie (a map is not mirrored for right-to-left)."""
    body = []
    for tile in tiles:
        col, row = GRID.get(tile.code, (4, 4))
        x, y = col * TILE + 4, row * TILE * 0.72 + 4
        css = "tile live" if tile.live else "tile not-live"
        inner = (
            f'<rect x="{x}" y="{y:.1f}" width="{TILE - 8}" height="{TILE * 0.72 - 8:.1f}" rx="8" class="{css}">'
            f"<title>{escape(tile.label)}: {escape(tile.text)}</title></rect>"
            + _tile_name(x + (TILE - 8) / 2, y, tile.label)
            + _text(x + (TILE - 8) / 2, y + (58 if _wraps(tile.label) else 52), tile.text, "middle", "tile-text")
        )
        body.append(_link(tile.href, inner))
    return _svg(TILE * 5 + 8, int(TILE * 0.72 * 5) + 8, label, body)


def _tile_name(x: float, y: float, name: str) -> str:
    """A governorate's name on its tile: on two lines when it is too long for one (Rural Damascus)."""
    if not _wraps(name):
        return _text(x, y + 30, name, "middle", "tile-name")
    first, _, second = name.partition(" ")
    return (
        f'<text x="{x:.1f}" y="{y + 22:.1f}" text-anchor="middle" class="tile-name">{escape(first)}'
        f'<tspan x="{x:.1f}" dy="15">{escape(second)}</tspan></text>'
    )


def _wraps(name: str) -> bool:
    return len(name) * 8.5 > TILE - 16 and " " in name
