"""Bar charts as inline SVG strings: stacked columns over time and horizontal bars. Every label is escaped
here, so callers pass plain text."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from html import escape


@dataclass(frozen=True)
class Series:
    """One kind of bar: its key in the data, its legend label and its colour."""

    key: str
    label: str
    colour: str


def nice_step(most: float, ticks: int = 5) -> int:
    """A gridline step of 1, 2 or 5 times a power of ten giving at most `ticks` lines up to `most`."""
    if most <= ticks:
        return 1
    raw = most / ticks
    power = 10 ** math.floor(math.log10(raw))
    return int(next(m * power for m in (1, 2, 5, 10) if m * power >= raw))


def _short(text: str, most: int) -> str:
    return text if len(text) <= most else text[: most - 1] + "…"


def legend(series: Sequence[Series]) -> str:
    """An HTML legend: a colour swatch and label a series."""
    items = "".join(f'<li><span class="swatch" style="background:{s.colour}"></span>{escape(s.label)}</li>'
                    for s in series)
    return f'<ul class="legend">{items}</ul>'


def stacked_columns(buckets: Sequence[str], counts: Mapping[str, Mapping[str, int]], series: Sequence[Series],
                    label: str, width: int = 960, height: int = 260) -> str:
    """A column per bucket, stacked by series (bottom to top in series order); a gridline per step."""
    left, right, top, bottom = 40, 10, 12, 44
    plot_w, plot_h = width - left - right, height - top - bottom
    most = max((sum(counts[b].values()) for b in buckets), default=0)
    step = nice_step(most)
    ceiling = max(step, math.ceil(most / step) * step)
    out = [f'<svg class="chart columns" viewBox="0 0 {width} {height}" role="img" aria-label="{escape(label)}">']
    for value in range(0, ceiling + 1, step):
        y = top + plot_h - plot_h * value / ceiling
        out.append(f'<line class="grid" x1="{left}" x2="{width - right}" y1="{y:.1f}" y2="{y:.1f}"/>'
                   f'<text class="tick" x="{left - 6}" y="{y + 4:.1f}" text-anchor="end">{value}</text>')
    slot = plot_w / max(len(buckets), 1)
    bar = min(slot * 0.8, 64)
    every = max(1, math.ceil(78 / slot))  # a date label is about 70 units wide: skip some rather than overlap
    for index, bucket in enumerate(buckets):
        x = left + slot * index + (slot - bar) / 2
        base = top + plot_h
        for s in series:
            n = counts[bucket].get(s.key, 0)
            if not n:
                continue
            h = plot_h * n / ceiling
            base -= h
            tip = f"{bucket} · {s.label}: {n}"
            out.append(f'<rect class="bar" x="{x:.1f}" y="{base:.1f}" width="{bar:.1f}" height="{h:.1f}" '
                       f'fill="{s.colour}"><title>{escape(tip)}</title></rect>')
        if index % every == 0:
            out.append(f'<text class="tick" x="{left + slot * index + slot / 2:.1f}" y="{top + plot_h + 18}" '
                       f'text-anchor="middle">{escape(bucket)}</text>')
    out.append(f'<line class="axis" x1="{left}" x2="{width - right}" y1="{top + plot_h}" y2="{top + plot_h}"/>')
    out.append("</svg>")
    return "".join(out)


def horizontal_bars(rows: Sequence[tuple[str, Sequence[int]]], series: Sequence[Series], label: str,
                    width: int = 460, label_width: int = 190) -> str:
    """A group of bars per row (one per series, in series order), the value written at each bar's end."""
    row_h = 8 + 14 * len(series)
    top, right = 6, 40
    height = top * 2 + row_h * len(rows)
    most = max((v for _, values in rows for v in values), default=0) or 1
    span = width - label_width - right
    out = [f'<svg class="chart bars" viewBox="0 0 {width} {height}" role="img" aria-label="{escape(label)}">']
    for index, (name, values) in enumerate(rows):
        y0 = top + row_h * index
        out.append(f'<text class="label" x="{label_width - 8}" y="{y0 + row_h / 2 + 4:.1f}" text-anchor="end">'
                   f'{escape(_short(name, 25))}<title>{escape(name)}</title></text>')
        for offset, (s, value) in enumerate(zip(series, values, strict=True)):
            y = y0 + 4 + 14 * offset
            w = span * value / most
            if value:
                tip = f"{name} · {s.label}: {value}"
                out.append(f'<rect class="bar" x="{label_width}" y="{y}" width="{max(w, 1.5):.1f}" height="12" '
                           f'fill="{s.colour}"><title>{escape(tip)}</title></rect>')
                out.append(f'<text class="value" x="{label_width + w + 4:.1f}" y="{y + 10}">{value}</text>')
    out.append("</svg>")
    return "".join(out)
