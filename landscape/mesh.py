"""A loss surface and its paths as a 3-D mesh, for ParaView and Blender.

The grid becomes triangles (two per cell) whose height is the 3-D figures' (surface_height: the
loss, or log10(1 + loss - f*) on log-scale grids), with the loss itself as a point field; each
path becomes a polyline at the same heights, where the format has lines. Formats, by suffix:

- .vtp  VTK XML PolyData (ParaView): triangles, paths as lines, point field "loss", cell field
        "path" (-1 on the surface, else the index of the path, in the record's order);
- .vtu  VTK XML UnstructuredGrid and .vtk legacy VTK, through meshio: the same cells and fields;
- .ply  through meshio: triangles and the paths as two-point faces (Blender reads them as
        edges), the point field "loss";
- .obj  through meshio: the surface's triangles only (Wavefront OBJ has no lines or fields).
"""

from __future__ import annotations

import os
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from landscape.errors import LandscapeError
from landscape.grid import LossGrid
from landscape.output import atomic_path, check_output
from landscape.paths import PathRecord

MESH_FORMATS = (".vtp", ".vtu", ".vtk", ".ply", ".obj")
_MESHIO = {".vtu": "vtu", ".vtk": "vtk", ".ply": "ply", ".obj": "obj"}
_LINES = {".vtp", ".vtu", ".vtk", ".ply"}  # formats that keep the paths


@dataclass(frozen=True)
class SurfaceMesh:
    """A grid's triangles and its paths' polylines over one set of points."""

    points: np.ndarray = field(repr=False)  # (v, 3) x, y, height; the grid's (ny*nx) first
    loss: np.ndarray = field(repr=False)  # (v,) the loss at each point
    triangles: np.ndarray = field(repr=False)  # (t, 3) point indices, counter-clockwise from +z
    lines: np.ndarray = field(repr=False)  # (s, 2) point indices of the paths' segments
    line_path: np.ndarray = field(repr=False)  # (s,) index of the path each segment is on
    labels: tuple[str, ...] = ()  # per path: its label ("Adam")


def surface_mesh(grid: LossGrid, paths: Sequence[PathRecord] = ()) -> SurfaceMesh:
    """The mesh of `grid` and of each path's first start (its finite points, on the way)."""
    from landscape.plot.surface import surface_height  # matplotlib: loaded when meshing

    ny, nx = grid.loss.shape
    gx, gy = np.meshgrid(grid.x, grid.y)  # (ny, nx)
    loss = np.asarray(grid.loss, dtype=np.float64)
    points = [np.column_stack([gx.ravel(), gy.ravel(), surface_height(grid, loss).ravel()])]
    losses = [loss.ravel()]
    index = np.arange(ny * nx).reshape(ny, nx)
    a, b = index[:-1, :-1].ravel(), index[:-1, 1:].ravel()  # a cell's lower left, lower right
    c, d = index[1:, 1:].ravel(), index[1:, :-1].ravel()  # upper right, upper left
    triangles = np.concatenate([np.column_stack([a, b, c]), np.column_stack([a, c, d])])
    lines, line_path, labels = [], [], []
    first = ny * nx
    for k, path in enumerate(paths):
        xy, path_loss = np.asarray(path.xy)[:, 0], np.asarray(path.loss)[:, 0]
        keep = np.isfinite(xy).all(-1) & np.isfinite(path_loss)
        xy, path_loss = xy[keep], path_loss[keep]
        labels.append(path.label)
        if len(xy) == 0:
            continue
        points.append(np.column_stack([xy, surface_height(grid, path_loss)]))
        losses.append(path_loss)
        ids = first + np.arange(len(xy))
        lines.append(np.column_stack([ids[:-1], ids[1:]]))
        line_path.append(np.full(len(xy) - 1, k))
        first += len(xy)
    return SurfaceMesh(
        points=np.concatenate(points),
        loss=np.concatenate(losses),
        triangles=triangles,
        lines=np.concatenate(lines) if lines else np.empty((0, 2), dtype=np.int64),
        line_path=np.concatenate(line_path) if line_path else np.empty(0, dtype=np.int64),
        labels=tuple(labels),
    )


def save_mesh(record: Any, path: str | os.PathLike) -> Path:
    """Write a slice record (anything with loss_grid() and trajectories(on_plane=True)) as a
    mesh, the format by suffix (MESH_FORMATS); the paths lie on the drawn surface."""
    return write_mesh(record.loss_grid(), record.trajectories(on_plane=True), path)


def write_mesh(grid: LossGrid, paths: Sequence[PathRecord], path: str | os.PathLike) -> Path:
    """Write `grid` and `paths` as a mesh, the format by suffix (MESH_FORMATS)."""
    path = check_output(path, MESH_FORMATS)
    mesh = surface_mesh(grid, paths)
    suffix = path.suffix.lower()
    with atomic_path(path) as tmp:
        if suffix == ".vtp":
            _write_vtp(mesh, tmp)
        else:
            _write_meshio(mesh, tmp, suffix)
    return path


def _write_meshio(mesh: SurfaceMesh, path: Path, suffix: str) -> None:
    import meshio

    cells = [("triangle", mesh.triangles)]
    cell_data: dict[str, list[np.ndarray]] = {}
    if suffix in _LINES and len(mesh.lines):
        cells.append(("line", mesh.lines))
        if suffix != ".ply":  # PLY's faces take no per-face fields through meshio
            cell_data["path"] = [np.full(len(mesh.triangles), -1), mesh.line_path]
    point_data = {} if suffix == ".obj" else {"loss": mesh.loss}
    try:
        meshio.write_points_cells(
            path,
            mesh.points,
            cells,
            point_data=point_data,
            cell_data=cell_data,
            file_format=_MESHIO[suffix],
        )
    except (OSError, ValueError) as err:
        raise LandscapeError(f"cannot write {path.name}: {err}") from None


def _write_vtp(mesh: SurfaceMesh, path: Path) -> None:
    """VTK XML PolyData, ASCII: Points, Polys (the triangles), Lines (the paths' segments),
    point data "loss", cell data "path" (cells in VTK's order: lines, then polys)."""
    root = ET.Element("VTKFile", type="PolyData", version="1.0", byte_order="LittleEndian")
    piece = ET.SubElement(
        ET.SubElement(root, "PolyData"),
        "Piece",
        NumberOfPoints=str(len(mesh.points)),
        NumberOfVerts="0",
        NumberOfLines=str(len(mesh.lines)),
        NumberOfStrips="0",
        NumberOfPolys=str(len(mesh.triangles)),
    )

    def array(parent: ET.Element, name: str, values: np.ndarray, kind: str, **extra) -> None:
        element = ET.SubElement(parent, "DataArray", type=kind, Name=name, format="ascii", **extra)
        fmt = "%.17g" if kind.startswith("Float") else "%d"
        element.text = " ".join(fmt % v for v in np.asarray(values).ravel())

    points = ET.SubElement(piece, "Points")
    array(points, "Points", mesh.points, "Float64", NumberOfComponents="3")
    for tag, cells in (("Lines", mesh.lines), ("Polys", mesh.triangles)):
        element = ET.SubElement(piece, tag)
        width = cells.shape[1]
        array(element, "connectivity", cells, "Int64")
        array(element, "offsets", width * np.arange(1, len(cells) + 1), "Int64")
    point_data = ET.SubElement(piece, "PointData", Scalars="loss")
    array(point_data, "loss", mesh.loss, "Float64")
    cell_data = ET.SubElement(piece, "CellData", Scalars="path")
    array(
        cell_data,
        "path",
        np.concatenate([mesh.line_path, np.full(len(mesh.triangles), -1)]),
        "Int32",
    )
    ET.ElementTree(root).write(path, encoding="utf-8", xml_declaration=True)
