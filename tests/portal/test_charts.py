"""The agency page's monthly chart: its axis and its bars on one scale."""
from __future__ import annotations

import re

from web.portal.charts import trend_svg


def test_axis_labels_are_whole_numbers_on_the_bars_scale() -> None:
    trend = [{"month": "2026-10", "received": 4, "resolved": 1},
             {"month": "2026-11", "received": 2, "resolved": 2},
             {"month": "2026-12", "received": 0, "resolved": 0}]
    svg = trend_svg(trend, "Phản ánh theo tháng")
    labels = re.findall(r'class="axis">(\d+(?:\.\d+)?)</text>', svg)
    assert labels == ["0", "1", "2", "3", "4"]  # grid every 1 up to the peak of 4
    # the tallest bar (4) reaches the top grid line; a bar of 2 reaches the middle one
    heights = [float(h) for h in re.findall(r'height="([\d.]+)" fill=', svg)]
    plot_h = 240 - 28 - 34
    assert max(heights) == plot_h and plot_h / 2 in heights
