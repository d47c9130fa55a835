"""Slices as meshes (read back with meshio, or parsed as XML) and as offline plotly pages."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

import meshio
import numpy as np
import pytest
import test_slice_cli

from landscape.errors import LandscapeError
from landscape.grid import sample
from landscape.mesh import surface_mesh, write_mesh
from landscape.surface_page import write_surface_page
from landscape.surfaces import get_surface
from landscape.trajectory import trace, trace_all

data_dir = test_slice_cli.data_dir  # the command's fixture; small_runs: conftest

NX, NY = 9, 7


@pytest.fixture(scope="module")
def grid_and_paths():
    surface = get_surface("himmelblau")
    grid = sample(surface, NX, NY, device="cpu")
    paths = trace_all(surface, ["sgd", "adam"], steps=12, device="cpu")
    return grid, paths


def height(loss, f_min=0.0):
    """The 3-D figures' height of a log-scale grid, written out: log10(1 + loss - f*)."""
    return np.log10(1 + np.maximum(np.asarray(loss, dtype=np.float64) - f_min, 0))


def expected_points(grid, paths):
    gx, gy = np.meshgrid(grid.x, grid.y)
    points = [np.column_stack([gx.ravel(), gy.ravel(), height(grid.loss).ravel()])]
    losses = [grid.loss.ravel()]
    for p in paths:
        points.append(np.column_stack([p.xy[:, 0], height(p.loss[:, 0])]))
        losses.append(p.loss[:, 0])
    return np.concatenate(points), np.concatenate(losses)


def assert_triangles_tile_the_grid(triangles):
    assert triangles.shape == (2 * (NX - 1) * (NY - 1), 3)
    # every grid cell is covered by exactly two triangles that share its diagonal
    cells = {}
    for tri in triangles:
        j, i = np.divmod(tri, NX)
        assert j.max() - j.min() == 1 and i.max() - i.min() == 1
        cells.setdefault((j.min(), i.min()), []).append(set(tri))
    assert len(cells) == (NX - 1) * (NY - 1)
    assert all(len(pair) == 2 and len(pair[0] | pair[1]) == 4 for pair in cells.values())


@pytest.mark.parametrize("suffix", [".vtu", ".vtk", ".ply"])
def test_meshio_formats_read_back(tmp_path, grid_and_paths, suffix):
    grid, paths = grid_and_paths
    out = write_mesh(grid, paths, tmp_path / f"slice{suffix}")
    mesh = meshio.read(out)
    points, losses = expected_points(grid, paths)
    np.testing.assert_allclose(mesh.points, points, rtol=1e-6)
    np.testing.assert_allclose(np.ravel(mesh.point_data["loss"]), losses, rtol=1e-6)
    cells = {block.type: block.data for block in mesh.cells}
    assert_triangles_tile_the_grid(cells["triangle"])
    # each path is one polyline through its own points, in step order
    first, segments = NX * NY, []
    for p in paths:
        ids = first + np.arange(len(p.xy))
        segments.append(np.column_stack([ids[:-1], ids[1:]]))
        first += len(p.xy)
    np.testing.assert_array_equal(cells["line"], np.concatenate(segments))


def test_obj_holds_the_surface(tmp_path, grid_and_paths):
    grid, paths = grid_and_paths
    mesh = meshio.read(write_mesh(grid, paths, tmp_path / "slice.obj"))
    points, _ = expected_points(grid, paths)
    np.testing.assert_allclose(mesh.points[: NX * NY], points[: NX * NY], rtol=1e-6)
    assert [block.type for block in mesh.cells] == ["triangle"]
    assert_triangles_tile_the_grid(mesh.cells[0].data)


def test_vtp_is_polydata_with_loss_and_path_fields(tmp_path, grid_and_paths):
    grid, paths = grid_and_paths
    root = ET.parse(write_mesh(grid, paths, tmp_path / "slice.vtp")).getroot()
    assert root.get("type") == "PolyData"
    piece = root.find("PolyData/Piece")

    def values(path):
        element = piece.find(path)
        return np.array(element.text.split(), dtype=np.float64)

    points, losses = expected_points(grid, paths)
    assert int(piece.get("NumberOfPoints")) == len(points)
    np.testing.assert_allclose(values("Points/DataArray").reshape(-1, 3), points, rtol=1e-12)
    np.testing.assert_allclose(values("PointData/DataArray[@Name='loss']"), losses, rtol=1e-12)
    polys = values("Polys/DataArray[@Name='connectivity']").astype(int).reshape(-1, 3)
    assert_triangles_tile_the_grid(polys)
    lines = values("Lines/DataArray[@Name='connectivity']").astype(int).reshape(-1, 2)
    assert len(lines) == sum(len(p.xy) - 1 for p in paths)
    path_of = values("CellData/DataArray[@Name='path']").astype(int)
    steps = len(paths[0].xy) - 1
    assert path_of.tolist() == [0] * steps + [1] * steps + [-1] * len(polys)


def test_diverged_steps_are_left_out(grid_and_paths):
    grid, _ = grid_and_paths
    run = trace("himmelblau", "sgd", steps=40, device="cpu", lr=1.0)
    assert run.diverged[0]
    mesh = surface_mesh(grid, [run])
    assert len(mesh.points) == NX * NY + run.diverged_at[0]
    assert np.isfinite(mesh.points).all() and np.isfinite(mesh.loss).all()


def test_page_embeds_plotly_and_loads_nothing(tmp_path, grid_and_paths):
    grid, paths = grid_and_paths
    text = write_surface_page(grid, paths, tmp_path / "slice.html").read_text()
    assert "Plotly.newPlot" in text and len(text) > 1_000_000  # plotly.js itself, inline
    assert re.findall(r"<script[^>]*\bsrc\b", text, re.IGNORECASE) == []
    markup = re.sub(r"<script[^>]*>.*?</script>", "", text, flags=re.IGNORECASE | re.DOTALL)
    assert "<script" not in markup.lower() and not re.search(r"https?:", markup)
    for p in paths:
        assert f'"name":"{p.label}"' in text


@pytest.mark.parametrize("name", ["slice.stl", "slice"])
def test_other_suffixes_are_refused(tmp_path, grid_and_paths, name):
    grid, paths = grid_and_paths
    with pytest.raises(LandscapeError, match=r"\.vtp"):
        write_mesh(grid, paths, tmp_path / name)


@pytest.mark.parametrize("suffix", [".vtu", ".html"])
def test_slice_command_writes_the_slice_as_mesh_and_page(
    cli, small_runs, data_dir, tmp_path, suffix
):
    arguments = [
        "slice",
        "-o",
        "sgd",
        "-o",
        "adam",
        "--grid",
        "7x5",
        "--range",
        "-1:0,0:2",
        "--epochs",
        "1",
        "--device",
        "cpu",
        "--data-dir",
        data_dir,
    ]
    code, _, err = cli(*arguments, "--out", tmp_path / "slice.npz")
    assert code == 0, err
    code, stdout, err = cli(*arguments, "--out", tmp_path / f"slice{suffix}")
    assert code == 0, err
    assert f"slice{suffix}" in stdout
    with np.load(tmp_path / "slice.npz") as f:
        x, y, loss = f["x"], f["y"], f["loss"]
        xy, plane_loss = f["path1_xy"], f["path1_plane_loss"]
        first = len(f["path0_xy"])  # SGD's points come first
    if suffix == ".html":
        text = (tmp_path / "slice.html").read_text()
        assert '"name":"Adam"' in text and re.findall(r"<script[^>]*\bsrc\b", text) == []
        return
    mesh = meshio.read(tmp_path / "slice.vtu")
    gx, gy = np.meshgrid(x, y)
    np.testing.assert_allclose(mesh.points[:35, :2], np.column_stack([gx.ravel(), gy.ravel()]))
    np.testing.assert_allclose(mesh.point_data["loss"][:35], loss.ravel(), rtol=1e-6)
    np.testing.assert_allclose(mesh.points[35 + first :, :2], xy, rtol=1e-6)
    np.testing.assert_allclose(mesh.point_data["loss"][35 + first :], plane_loss, rtol=1e-6)
