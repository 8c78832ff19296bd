"""Charts drawn on the server as SVG: readable without JavaScript, labelled for screen readers
(title, desc; the page also prints the same figures as a table)."""
from __future__ import annotations

import math
from html import escape
from typing import Any

MONTHS_VI = ("Th1", "Th2", "Th3", "Th4", "Th5", "Th6", "Th7", "Th8", "Th9", "Th10", "Th11", "Th12")
RECEIVED_COLOUR = "#1f5f99"
RESOLVED_COLOUR = "#2e7d32"


def month_label(key: str) -> str:
    year, month = key.split("-")
    return f"{MONTHS_VI[int(month) - 1]}/{year[2:]}"


def trend_svg(trend: list[dict[str, Any]], title: str, width: int = 640, height: int = 240) -> str:
    """Grouped bars per month: received and resolved."""
    left, right, top, bottom = 36, 8, 28, 34
    plot_w, plot_h = width - left - right, height - top - bottom
    highest = max([1, *(max(m["received"], m["resolved"]) for m in trend)])
    grid = math.ceil(highest / 4)  # whole-number grid lines: 0, grid, … 4·grid
    peak = grid * 4
    step = plot_w / max(1, len(trend))  # one month's width
    bar = max(2.0, step * 0.36)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" viewBox="0 0 {width} {height}" '
        f'role="img" aria-labelledby="chart-title chart-desc">',
        f'<title id="chart-title">{escape(title)}</title>',
        '<desc id="chart-desc">' + escape("; ".join(
            f"{month_label(m['month'])}: tiếp nhận {m['received']}, xử lý xong {m['resolved']}"
            for m in trend)) + "</desc>",
    ]
    for i in range(5):  # horizontal grid with values
        value = grid * i
        y = top + plot_h - plot_h * i / 4
        parts.append(f'<line x1="{left}" x2="{width - right}" y1="{y:.1f}" y2="{y:.1f}" class="grid"/>')
        parts.append(f'<text x="{left - 4}" y="{y + 4:.1f}" text-anchor="end" class="axis">{value}</text>')
    for i, m in enumerate(trend):
        x = left + i * step + step / 2
        for j, (key, colour) in enumerate((("received", RECEIVED_COLOUR), ("resolved", RESOLVED_COLOUR))):
            h = plot_h * m[key] / peak
            bx = x - bar + j * bar
            parts.append(f'<rect x="{bx:.1f}" y="{top + plot_h - h:.1f}" width="{bar - 1:.1f}" '
                         f'height="{h:.1f}" fill="{colour}"><title>{month_label(m["month"])}: '
                         f'{"tiếp nhận" if key == "received" else "xử lý xong"} {m[key]}</title></rect>')
        parts.append(f'<text x="{x:.1f}" y="{height - bottom + 16}" text-anchor="middle" class="axis">'
                     f'{month_label(m["month"])}</text>')
    legend_y = 14
    parts.append(f'<rect x="{left}" y="{legend_y - 9}" width="10" height="10" fill="{RECEIVED_COLOUR}"/>'
                 f'<text x="{left + 14}" y="{legend_y}" class="axis">Tiếp nhận</text>'
                 f'<rect x="{left + 90}" y="{legend_y - 9}" width="10" height="10" fill="{RESOLVED_COLOUR}"/>'
                 f'<text x="{left + 104}" y="{legend_y}" class="axis">Xử lý xong</text>')
    parts.append("</svg>")
    return "".join(parts)


def rate_bar(value: float | None, label: str) -> str:
    """A small horizontal bar for a share (on-time, satisfaction/5)."""
    share = 0.0 if value is None else max(0.0, min(1.0, value))
    return (f'<svg xmlns="http://www.w3.org/2000/svg" class="bar" viewBox="0 0 100 8" role="img" '
            f'aria-label="{escape(label)}"><rect width="100" height="8" class="track"/>'
            f'<rect width="{share * 100:.1f}" height="8" class="fill"/></svg>')
