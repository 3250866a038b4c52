"""TopoJSON decoded to plain polygons of (lon, lat) points: arcs shared between neighbours, stitched back
into each country's rings."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ASSETS = Path(__file__).resolve().parents[1] / "assets"
COUNTRIES_FILE = ASSETS / "countries-110m.json"

Point = tuple[float, float]
Ring = list[Point]
Polygon = list[Ring]  # the outer ring, then its holes


@dataclass(frozen=True)
class Shape:
    """One feature of a geometry collection: its id (world-atlas: ISO 3166-1 numeric), name and polygons."""

    id: str | None
    name: str
    polygons: list[Polygon]


def decode_arcs(topology: dict[str, Any]) -> list[Ring]:
    """Every arc as absolute (lon, lat) points. A quantized topology (one with a `transform`) stores each
    arc's first position as integers and the rest as deltas from the one before."""
    transform = topology.get("transform")
    if transform is None:
        return [[(float(x), float(y)) for x, y, *_ in arc] for arc in topology["arcs"]]
    (scale_x, scale_y), (move_x, move_y) = transform["scale"], transform["translate"]
    arcs = []
    for arc in topology["arcs"]:
        x = y = 0
        points = []
        for dx, dy, *_ in arc:
            x, y = x + dx, y + dy
            points.append((x * scale_x + move_x, y * scale_y + move_y))
        arcs.append(points)
    return arcs


def ring(arcs: list[Ring], indexes: list[int]) -> Ring:
    """A ring stitched from arcs; index ~i (negative) is arc i walked backwards. Consecutive arcs share an
    end point, kept once."""
    points: Ring = []
    for index in indexes:
        arc = arcs[index] if index >= 0 else arcs[~index][::-1]
        points.extend(arc if not points else arc[1:])
    return points


def polygons(arcs: list[Ring], geometry: dict[str, Any]) -> list[Polygon]:
    """A Polygon or MultiPolygon geometry's polygons (other geometry types have no area: none)."""
    if geometry.get("type") == "Polygon":
        return [[ring(arcs, indexes) for indexes in geometry["arcs"]]]
    if geometry.get("type") == "MultiPolygon":
        return [[ring(arcs, indexes) for indexes in polygon] for polygon in geometry["arcs"]]
    return []


def shapes(topology: dict[str, Any], collection: str) -> list[Shape]:
    """The features of one of the topology's objects, decoded."""
    arcs = decode_arcs(topology)
    found = topology["objects"][collection]
    members = found["geometries"] if found.get("type") == "GeometryCollection" else [found]
    return [Shape(id=None if g.get("id") is None else str(g["id"]),
                  name=str((g.get("properties") or {}).get("name") or ""),
                  polygons=polygons(arcs, g)) for g in members]


def countries(path: Path = COUNTRIES_FILE) -> list[Shape]:
    """The world's countries from the shipped world-atlas file (1:110m)."""
    return shapes(json.loads(path.read_text(encoding="utf-8")), "countries")
