"""Surfaces against the published table: minima, f*, gradients, and the expression parser."""

from __future__ import annotations

import ast
import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from landscape import surfaces
from landscape.errors import LandscapeError
from landscape.expression import compile_expression
from landscape.surfaces import SURFACES, from_function, get_surface
from landscape.trajectory import trace

TABLE = [
    "rosenbrock",
    "beale",
    "booth",
    "matyas",
    "himmelblau",
    "three_hump_camel",
    "six_hump_camel",
    "goldstein_price",
    "mccormick",
    "styblinski_tang",
    "levi13",
    "rastrigin",
    "ackley",
    "quadratic",
    "saddle",
]
WITH_MINIMA = [n for n in TABLE if SURFACES[n].minima]


def test_the_table_is_there():
    assert set(TABLE) <= set(SURFACES)


@pytest.mark.parametrize("name", WITH_MINIMA)
def test_f_min_is_reached_at_every_minimum(name):
    s = SURFACES[name]
    values = s(torch.tensor(s.minima, dtype=torch.float64)).numpy()
    np.testing.assert_allclose(values, s.f_min, rtol=1e-9, atol=1e-9 * max(1.0, abs(s.f_min)))


@pytest.mark.parametrize("name", WITH_MINIMA)
def test_nothing_near_a_minimum_lies_below_f_min(name):
    # A fine float64 grid 1e-3 around each minimum: a rounded f* (or minimum) shows as a point
    # below f*. The slack is float64 evaluation error, a few ulps of the terms summed.
    s = SURFACES[name]
    offsets = torch.linspace(-1e-3, 1e-3, 401, dtype=torch.float64)
    dx, dy = torch.meshgrid(offsets, offsets, indexing="ij")
    slack = 8 * np.finfo(np.float64).eps * max(1.0, abs(s.f_min))
    for mx, my in s.minima:
        lowest = s(torch.stack([mx + dx, my + dy], -1)).min().item()
        assert lowest >= s.f_min - slack, (mx, my, lowest - s.f_min)


@pytest.mark.parametrize("name", WITH_MINIMA)
def test_gradient_vanishes_at_minima(name):
    s = SURFACES[name]
    points = torch.tensor(s.minima, dtype=torch.float64, requires_grad=True)
    (grad,) = torch.autograd.grad(s(points).sum(), points)
    assert torch.isfinite(grad).all()
    assert grad.abs().max().item() < 1e-9


@pytest.mark.parametrize("name", [n for n in TABLE if SURFACES[n].f_min is not None])
def test_no_point_of_the_domain_lies_below_f_min(name):
    # A naive dense grid is the reference: the published f* must be the lowest value on it.
    s = SURFACES[name]
    (x0, x1), (y0, y1) = s.domain
    gx, gy = torch.meshgrid(
        torch.linspace(x0, x1, 801, dtype=torch.float64),
        torch.linspace(y0, y1, 801, dtype=torch.float64),
        indexing="ij",
    )
    lowest = s(torch.stack([gx, gy], -1)).min().item()
    assert lowest >= s.f_min


@pytest.mark.parametrize("name", TABLE)
def test_metadata_is_consistent(name):
    s = SURFACES[name]
    (x0, x1), (y0, y1) = s.domain
    assert x0 < x1 and y0 < y1
    assert x0 <= s.start[0] <= x1 and y0 <= s.start[1] <= y1
    for mx, my in s.minima:
        assert x0 <= mx <= x1 and y0 <= my <= y1
    assert s.title and s.formula and s.steps > 0
    assert (s.f_min is None) == (not s.minima)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("name", TABLE)
def test_shape_dtype_and_autograd(name, dtype):
    s = SURFACES[name]
    points = torch.rand(3, 4, 2, dtype=dtype, requires_grad=True)
    values = s(points)
    assert values.shape == (3, 4) and values.dtype == dtype
    (grad,) = torch.autograd.grad(values.sum(), points)
    assert grad.shape == points.shape and torch.isfinite(grad).all()


def test_ackley_gradient_is_finite_at_its_minimum():
    p = torch.zeros(2, requires_grad=True)
    value = SURFACES["ackley"](p)
    (grad,) = torch.autograd.grad(value, p)
    assert value.item() == pytest.approx(0.0, abs=1e-6)
    assert torch.equal(grad, torch.zeros(2))


def test_rosenbrock_matches_its_formula():
    rng = np.random.default_rng(0)
    xy = rng.uniform(-2, 2, size=(100, 2))
    x, y = xy.T
    expected = (1 - x) ** 2 + 100 * (y - x**2) ** 2
    assert SURFACES["rosenbrock"](torch.tensor(xy)).numpy() == pytest.approx(expected)


def test_a_registry_entry_is_hashable_and_nothing_can_change_it():
    rosenbrock = get_surface("rosenbrock")
    assert hash(rosenbrock) == hash(SURFACES["rosenbrock"]) and {rosenbrock: 1}[rosenbrock] == 1
    assert rosenbrock.default_lr("rmsprop", "adaptive") == rosenbrock.lr["rmsprop"] == 0.01
    with pytest.raises(TypeError):
        rosenbrock.lr["rmsprop"] = 1.0
    with pytest.raises(AttributeError):
        rosenbrock.lr = {"rmsprop": 1.0}
    custom = from_function(lambda x, y: x * y, name="xy", lr={"adaptive": 0.3})
    assert custom.lr == {"adaptive": 0.3} and hash(custom) == hash(
        custom.with_domain(custom.domain)
    )


def test_points_must_be_pairs():
    with pytest.raises(LandscapeError, match=r"\(\.\.\., 2\)"):
        SURFACES["booth"](torch.zeros(3, 3))


# Expressions: compiled to torch, compared with numpy evaluating the same formula.
EXPRESSIONS = [
    ("x**2 + 10*y**2", lambda x, y: x**2 + 10 * y**2),
    ("sin(x)*cos(y)", lambda x, y: np.sin(x) * np.cos(y)),
    ("-x - -y", lambda x, y: -x + y),
    ("exp(-(x**2+y**2)/2) * tanh(x)", lambda x, y: np.exp(-(x**2 + y**2) / 2) * np.tanh(x)),
    ("sqrt(abs(x)) + log(1 + y**2)", lambda x, y: np.sqrt(np.abs(x)) + np.log(1 + y**2)),
    ("2**-x / (1 + y**2)", lambda x, y: 2.0**-x / (1 + y**2)),
    ("max(x, y) - min(x, y) + pi*e", lambda x, y: np.abs(x - y) + math.pi * math.e),
    ("atan2(y, x) + hypot(x, y)", lambda x, y: np.arctan2(y, x) + np.hypot(x, y)),
    ("3", lambda x, y: np.full_like(x, 3.0)),
]


@pytest.mark.parametrize("text,reference", EXPRESSIONS)
def test_expression_matches_numpy(text, reference):
    xy = np.random.default_rng(1).uniform(-3, 3, size=(50, 2))
    s = get_surface(text)
    assert s(torch.tensor(xy)).numpy() == pytest.approx(reference(xy[:, 0], xy[:, 1]))
    assert s.domain == ((-5.0, 5.0), (-5.0, 5.0)) and s.minima == () and s.f_min is None


def test_expression_domain_is_settable():
    s = get_surface("x**2 + y**2", domain=((-1, 2), (0, 3)))
    assert s.domain == ((-1.0, 2.0), (0.0, 3.0))
    x0, y0 = s.start
    assert -1 <= x0 <= 2 and 0 <= y0 <= 3


BAD_EXPRESSIONS = [
    ("x.__class__", "attribute access"),
    ("__import__('os')", "function '__import__'"),
    ("().__class__.__bases__[0]", "indexing"),
    ("().__class__", "attribute access"),
    ("import os", "cannot parse"),
    ("lambda: 1", "lambda"),
    ("open('f')", "function 'open'"),
    ("eval('1')", "function 'eval'"),
    ("x[0]", "indexing"),
    ("x ^ 2", r"use \*\* for powers"),
    ("z + 1", "name 'z'"),
    ("sin(x, y)", "takes 1"),
    ("sin(x=1)", "keyword"),
    ("'a'", "constant"),
    ("x if y else 1", "if/else"),
    ("x +", "cannot parse"),
    ("", "empty expression"),
    ("sin(x)(y)", "calling anything but a named function"),
    ("x < y", "comparison"),
    ("[x for x in ()]", "comprehension"),
    ("x" + "+x" * 600, "characters long"),
]


@pytest.mark.parametrize("text,message", BAD_EXPRESSIONS)
def test_bad_expressions_are_one_line_errors(text, message):
    with pytest.raises(LandscapeError, match=message) as err:
        compile_expression(text)
    assert "\n" not in str(err.value)


def test_huge_constant_powers_do_not_hang():
    s = get_surface("9**9**9 + x")
    assert torch.isinf(s(torch.zeros(1, 2))).all()


@pytest.mark.parametrize("text,value", [("3", 3.0), ("-pi*e", -math.pi * math.e), ("2**-3", 0.125)])
def test_a_finite_constant_is_a_flat_surface(text, value):
    s = get_surface(text)
    points = torch.tensor([[0.0, 0.0], [1e3, -7.0]], dtype=torch.float64, requires_grad=True)
    values = s(points)
    (grad,) = torch.autograd.grad(values.sum(), points)  # a graph to differentiate: zero
    np.testing.assert_array_equal(values.detach().numpy(), [value, value])
    assert torch.equal(grad, torch.zeros_like(points))


@pytest.mark.parametrize(
    "text,shown",
    [
        ("9**9**9**9", "is inf"),
        ("1e308*10", "is inf"),
        ("0/0", "is nan"),
        ("log(0)", "is -inf"),
        ("-(9**999)", "is -inf"),
        ("sqrt(-1)", "is nan"),
    ],
)
def test_a_constant_that_is_not_finite_is_a_one_line_error(text, shown):
    with pytest.raises(LandscapeError, match=f"does not depend on x or y and {shown}") as err:
        get_surface(text)
    assert "\n" not in str(err.value) and repr(text) in str(err.value)


def test_misspelt_names_suggest_the_closest():
    with pytest.raises(LandscapeError, match="did you mean 'rosenbrock'"):
        get_surface("rosenbrok")


def test_callables_become_surfaces():
    s = from_function(lambda x, y: (x - 1) ** 2 + y**2, name="bowl", minima=[(1, 0)], f_min=0.0)
    assert s(torch.tensor([1.0, 0.0])).item() == 0.0
    assert s.minima == ((1.0, 0.0),) and s.title == "bowl"
    with pytest.raises(LandscapeError, match="callable"):
        from_function(3, name="three")


@pytest.mark.parametrize(
    "domain", [((1, 0), (0, 1)), ((0, 1),), ((0, float("nan")), (0, 1)), "abc", ((0, 0), (0, 1))]
)
def test_bad_domains(domain):
    with pytest.raises(LandscapeError, match="domain"):
        surfaces.check_domain(domain)


_atoms = st.sampled_from(["x", "y", "1", "2.5", "pi", "e", "0"])
_expressions = st.recursive(
    _atoms,
    lambda inner: st.one_of(
        st.tuples(inner, st.sampled_from(["+", "-", "*", "/", "**"]), inner).map(
            lambda t: f"({t[0]} {t[1]} {t[2]})"
        ),
        st.tuples(st.sampled_from(["sin", "cos", "tanh", "exp", "abs", "-"]), inner).map(
            lambda t: f"{t[0]}({t[1]})"
        ),
    ),
    max_leaves=8,
)


@settings(max_examples=150, deadline=None)
@given(_expressions, st.lists(st.floats(-4, 4), min_size=2, max_size=2))
def test_valid_expressions_compile_and_evaluate(text, point):
    names = {node.id for node in ast.walk(ast.parse(text)) if isinstance(node, ast.Name)}
    if not names & {"x", "y"}:
        # A constant: a flat surface when finite, else refused.
        value = compile_expression(f"{text} + 0*x")(*torch.zeros(2, dtype=torch.float64))
        if not torch.isfinite(value):
            with pytest.raises(LandscapeError, match="not a finite number"):
                get_surface(text)
            return
    s = get_surface(text)
    value = s(torch.tensor(point, dtype=torch.float64))
    assert value.shape == ()


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=40))
def test_any_text_compiles_or_fails_cleanly(text):
    try:
        get_surface(text)
    except LandscapeError as err:
        assert "\n" not in str(err)


@pytest.mark.parametrize("text", ["\x00", "x\x00 + y", "x**2 + y\x00"])
def test_a_null_character_is_a_clean_error(text):
    # Python 3.11 before 3.11.4 (Debian 12's) raises ValueError here, later ones SyntaxError.
    with pytest.raises(LandscapeError, match="cannot parse expression"):
        get_surface(text)


@pytest.mark.parametrize("constant", [2.5, torch.tensor(2.5), np.float64(2.5)])
def test_a_function_returning_a_constant_is_a_flat_surface(constant):
    # As a constant expression: zero gradient, so no optimizer moves.
    flat = from_function(lambda x, y: constant, name="flat")
    run = trace(flat, "adam", starts=[(1.0, -2.0), (0.5, 0.5)], steps=5)
    assert (run.xy == run.xy[0]).all() and (run.loss == 2.5).all() and not run.diverged.any()
    assert (run.grad_norm == 0).all()


@pytest.mark.parametrize(
    ("fn", "message"),
    [
        (lambda x, y: float("inf"), "its function is the constant inf, not a finite number"),
        (lambda x, y: "x", "its function returned str, not a torch tensor or a number"),
        (
            lambda x, y: x.detach() ** 2 + y.detach() ** 2,
            "does not depend on x and y through torch",
        ),
        (lambda x, y: torch.from_numpy(np.hypot(x.detach().numpy(), 1)), "has no gradient"),
    ],
)
def test_a_function_without_a_gradient_is_a_one_line_error(fn, message):
    with pytest.raises(LandscapeError, match=message) as caught:
        trace(from_function(fn, name="mine"), "sgd", steps=3)
    assert "'mine'" in str(caught.value) and "\n" not in str(caught.value)
