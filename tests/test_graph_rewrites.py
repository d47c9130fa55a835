"""landscape.graph_rewrites: every surface's traced gradient, rewritten, against autograd's own
at the same points, bit for bit (ordinary points, zeros of both signs, huge, infinite and NaN
coordinates), and each rewrite found where it applies."""

from __future__ import annotations

import pytest
import torch
from torch.fx.experimental.proxy_tensor import make_fx

from landscape import compiled_runs
from landscape.surfaces import SURFACES, from_function, get_surface

aten = torch.ops.aten
SPECIAL = [(0.0, 0.0), (-0.0, -0.0), (1.0, -0.0), (-0.0, 1.0), (1e30, -1e30), (float("inf"), 1.0)]
SPECIAL += [(0.5, float("nan")), (-3.0, 2.5), (1e-30, 1e-30)]


def points(surface, dtype, seed):
    """(3, 5, 2): three configurations' starts, random in the domain, then the special ones."""
    (x0, x1), (y0, y1) = surface.domain
    g = torch.Generator().manual_seed(seed)
    u = torch.rand((3, 5, 2), generator=g, dtype=torch.float64)
    p = torch.stack([x0 + (x1 - x0) * u[..., 0], y0 + (y1 - y0) * u[..., 1]], -1).to(dtype)
    p.view(-1, 2)[: len(SPECIAL)] = torch.tensor(SPECIAL, dtype=dtype)
    return p


def same(a: torch.Tensor, b: torch.Tensor) -> bool:
    return compiled_runs._same(a, b)


def autograd_at(surface, p):
    return compiled_runs._gradient_of(surface)(p)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64], ids=["f32", "f64"])
@pytest.mark.parametrize("name", list(SURFACES))
def test_rewritten_gradient_is_autograds_bit_for_bit(name, dtype):
    surface = SURFACES[name]
    traced_at = points(surface, dtype, seed=0)
    graph = compiled_runs.traced_gradient(surface, traced_at)
    for p in (traced_at, points(surface, dtype, seed=1)):
        expected, got = autograd_at(surface, p), graph(p)
        for e, g in zip(expected, got, strict=True):
            assert same(e, g), f"{name}: {e.flatten()[:6]} != {g.flatten()[:6]}"


def unrewritten(surface, p):
    graph = make_fx(compiled_runs._gradient_of(surface), tracing_mode="fake")(p)
    compiled_runs._drop_detach(graph)
    return graph


def calls(graph) -> list:
    return [n for n in graph.graph.nodes if n.op == "call_function"]


def op(node) -> str:
    """The operation's name without its overload: aten.mul.Tensor -> aten.mul."""
    return str(getattr(node.target, "overloadpacket", node.target))


def test_rosenbrocks_gradient_loses_the_work_it_can_do_without():
    surface = get_surface("rosenbrock")  # (1 - x)^2 + 100 (y - x^2)^2
    p = points(surface, torch.float32, seed=0)
    before = calls(unrewritten(surface, p))
    after = calls(compiled_runs.traced_gradient(surface, p))
    names = {op(n) for n in after}
    # The backward pass's seed and what is computed from it, its sum's only use, pow(x, 1),
    # the expands to the shape a tensor has, and the zeros the coordinates were written into.
    for gone in ("aten.ones_like", "aten.sum", "aten.expand", "aten.select_backward"):
        assert gone not in names
    assert not [n for n in after if op(n) == "aten.pow" and n.args[1] in (1, 1.0)]
    assert [op(n) for n in before].count("aten.select_backward") == 2
    # Numbers are operands as tensors: no + - * / with a Python number left.
    arithmetic = [n for n in after if op(n) in ("aten.add", "aten.sub", "aten.mul")]
    assert arithmetic and all(isinstance(a, torch.fx.Node) for n in arithmetic for a in n.args[:2])
    assert len(after) <= len(before) - 10, (len(before), len(after))


def test_a_negative_zero_coordinate_of_the_gradient_is_positive_as_autograd_sums_it():
    # d(xy)/dx = y = -0.0; autograd writes it into zeros and adds: +0.0. A bare stack would
    # keep -0.0.
    surface = from_function(lambda x, y: x * y, name="xy")
    p = torch.tensor([[[1.0, -0.0]]])
    expected = autograd_at(surface, p)[1]
    assert str(expected[0, 0, 0].item()) == "0.0"
    assert same(compiled_runs.traced_gradient(surface, p)(p)[1], expected)


def test_a_graph_that_writes_into_a_tensor_is_left_as_traced():
    def f(x, y):
        z = x * 3.0
        z.mul_(2.0)
        return z**2 + y**1

    surface = from_function(f, name="in place")
    p = points(surface, torch.float32, seed=0)
    before = [op(n) for n in calls(unrewritten(surface, p))]
    assert "aten.mul_" in before
    rewritten = compiled_runs.traced_gradient(surface, p)
    assert [op(n) for n in calls(rewritten)] == before
    for e, g in zip(autograd_at(surface, p), rewritten(p), strict=True):
        assert same(e, g)


def test_random_values_are_not_taken_for_constants():
    surface = from_function(lambda x, y: x**2 + y**2 + torch.rand_like(x), name="noisy")
    p = points(surface, torch.float32, seed=0)
    targets = [op(n) for n in calls(compiled_runs.traced_gradient(surface, p))]
    assert "aten.rand_like" in targets


def test_constants_split_into_several_are_kept_as_the_graph_reads_them():
    def f(x, y):
        a, b = torch.tensor([1.0, -2.0], dtype=x.dtype).unbind()  # a tuple of constants
        return (x - a) ** 2 + 3 * (y - b) ** 2

    surface = from_function(f, name="split constants")
    p = points(surface, torch.float32, seed=0)
    graph = compiled_runs.traced_gradient(surface, p)
    for e, g in zip(autograd_at(surface, p), graph(p), strict=True):
        assert same(e, g)
    assert "aten.unbind" not in [op(n) for n in calls(graph)]  # its items were kept instead
