"""The run's events on a world map, as inline SVG: countries shaded by their number of events, a dot for each
place with coordinates. Equal Earth projection (Šavrič, Patterson and Jenny, 2018): equal-area, so a shaded
country's size is its size on the ground."""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from html import escape
from itertools import pairwise

from pipelines.report.topology import Polygon, Ring, Shape

_A1, _A2, _A3, _A4 = 1.340264, -0.081106, 0.000893, 0.003796
_M = math.sqrt(3) / 2
# The projection's extent for the whole sphere, in its own units (x at lon ±180 on the equator, y at the poles).
X_MAX = 2 * math.sqrt(3) * math.pi / (3 * _A1)
Y_MAX = _A4 * (math.pi / 3) ** 9 + _A3 * (math.pi / 3) ** 7 + _A2 * (math.pi / 3) ** 3 + _A1 * math.pi / 3

WIDTH = 960
# Antarctica holds little news and a fifth of the height: the map leaves it out and stops at this latitude.
ANTARCTICA = "010"
SOUTH = -58.0
NORTH = 84.0


def equal_earth(lon: float, lat: float) -> tuple[float, float]:
    """(x, y) in the projection's units, x east and y north, |x| <= X_MAX and |y| <= Y_MAX."""
    lam, phi = math.radians(lon), math.radians(lat)
    theta = math.asin(_M * math.sin(phi))
    t2 = theta * theta
    t6 = t2 * t2 * t2
    x = 2 * math.sqrt(3) * lam * math.cos(theta) / (3 * (9 * _A4 * t6 * t2 + 7 * _A3 * t6 + 3 * _A2 * t2 + _A1))
    y = theta * (_A4 * t6 * t2 + _A3 * t6 + _A2 * t2 + _A1)
    return x, y


def to_svg(lon: float, lat: float, width: float = WIDTH) -> tuple[float, float]:
    """SVG coordinates (y down) of a point, the world's full width mapped onto [0, width]."""
    x, y = equal_earth(lon, lat)
    scale = width / (2 * X_MAX)
    return (x + X_MAX) * scale, (Y_MAX - y) * scale


def view_box(width: float = WIDTH) -> tuple[float, float, float, float]:
    """(x, y, width, height) of the map between SOUTH and NORTH."""
    top = to_svg(0, NORTH, width)[1]
    bottom = to_svg(0, SOUTH, width)[1]
    return 0.0, round(top, 1), float(width), round(bottom - top, 1)


def _clip(points: Ring, edge: float, keep_below: bool) -> Ring:
    """The part of a ring on one side of the meridian `edge` (Sutherland-Hodgman against one line)."""
    inside = (lambda lon: lon <= edge) if keep_below else (lambda lon: lon >= edge)
    clipped: Ring = []
    for index, (lon, lat) in enumerate(points):
        prev_lon, prev_lat = points[index - 1]
        if inside(lon) != inside(prev_lon):
            share = (edge - prev_lon) / (lon - prev_lon)
            clipped.append((edge, prev_lat + (lat - prev_lat) * share))
        if inside(lon):
            clipped.append((lon, lat))
    return clipped


def split_at_antimeridian(points: Ring) -> list[Ring]:
    """A ring that crosses the 180th meridian (world-atlas keeps Fiji's and Chukotka's whole) as the rings on
    either side of it; a planar projection would otherwise draw a line across the world. Any other ring as it is."""
    if all(abs(b[0] - a[0]) <= 180 for a, b in pairwise(points)):
        return [points]
    unwrapped, offset = [points[0]], 0.0
    for (prev_lon, _), (lon, lat) in pairwise(points):
        offset += -360.0 if lon - prev_lon > 180 else 360.0 if lon - prev_lon < -180 else 0.0
        unwrapped.append((lon + offset, lat))
    if offset:  # a ring around a pole: no side to cut it into
        return [points]
    pieces = []
    for shift in (-360.0, 0.0, 360.0):
        piece = _clip(_clip([(lon + shift, lat) for lon, lat in unwrapped], 180.0, True), -180.0, False)
        if len(piece) >= 3:
            pieces.append(piece)
    return pieces


def _ring_data(points: Ring, width: float) -> str:
    drawn: list[tuple[float, float]] = []
    for lon, lat in points:
        x, y = to_svg(lon, lat, width)
        point = (round(x, 1), round(y, 1))
        if not drawn or point != drawn[-1]:
            drawn.append(point)
    return "M" + "L".join(f"{x:g},{y:g}" for x, y in drawn) + "Z" if len(drawn) >= 3 else ""


def path_data(polygons: Iterable[Polygon], width: float = WIDTH) -> str:
    """The `d` of one SVG path drawing every ring (holes too: fill-rule evenodd), to 0.1 of a unit;
    points that round onto the one before are dropped, rings across the 180th meridian are cut there."""
    return "".join(_ring_data(piece, width) for polygon in polygons for whole in polygon
                   for piece in split_at_antimeridian(whole))


@dataclass(frozen=True)
class Dot:
    """One place to mark: where, and the tooltip that says what happened there."""

    lon: float
    lat: float
    label: str
    conflict: bool = True


def outline() -> Ring:
    """The edge of the map between SOUTH and NORTH: up the 180th meridian's west side, down its east side."""
    steps = [SOUTH + (NORTH - SOUTH) * i / 64 for i in range(65)]
    return [(-180.0, lat) for lat in steps] + [(180.0, lat) for lat in reversed(steps)]


def shade(count: int, most: int) -> str:
    """A country's fill: light grey for no events, then light to dark red, on a square-root scale so one
    country with many events does not wash out the rest."""
    if count <= 0 or most <= 0:
        return "#e5e7eb"
    share = math.sqrt(count / most)
    low, high = (254, 224, 210), (165, 15, 21)
    r, g, b = (round(a + (z - a) * share) for a, z in zip(low, high, strict=True))
    return f"#{r:02x}{g:02x}{b:02x}"


def world_map(countries: list[Shape], counts: dict[str, int], dots: list[Dot], names: dict[str, str],
              width: float = WIDTH) -> str:
    """The map's SVG. `counts` is events per ISO numeric id; `names` the label a country's tooltip uses."""
    most = max(counts.values(), default=0)
    x, y, w, h = view_box(width)
    out = [f'<svg class="map" viewBox="{x:g} {y:g} {w:g} {h:g}" role="img" aria-label="map of event locations">',
           f'<path class="sea" d="{_ring_data(outline(), width)}"/>', '<g class="countries">']
    for country in countries:
        if country.id == ANTARCTICA:
            continue
        count = counts.get(country.id or "", 0)
        name = names.get(country.id or "", country.name)
        tip = f"{name}: {count} event{'s' if count != 1 else ''}"
        shaded = f' data-events="{count}"' if count else ""
        out.append(f'<path class="country{" shaded" if count else ""}"{shaded} fill="{shade(count, most)}" '
                   f'd="{path_data(country.polygons, width)}"><title>{escape(tip)}</title></path>')
    out.append('</g><g class="dots">')
    for dot in dots:
        cx, cy = to_svg(dot.lon, dot.lat, width)
        kind = "dot" if dot.conflict else "dot other"
        out.append(f'<circle class="{kind}" cx="{cx:.1f}" cy="{cy:.1f}" r="4"><title>{escape(dot.label)}</title>'
                   "</circle>")
    out.append("</g></svg>")
    return "".join(out)
