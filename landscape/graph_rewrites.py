"""Rewrites of a traced gradient graph that keep its results bit for bit, and make it cheaper to
replay (landscape.compiled_runs).

A surface's autograd graph, traced on tensors of a few elements, costs what its operations
cost to dispatch, not what they compute: about half a microsecond each, and about twice that
where an operand is a Python number, which torch wraps into a tensor and converts on every call.
Each rewrite below removes work whose result is known exactly without doing it again:

- values that do not depend on the points (the backward pass's seed `ones_like(loss.sum())`,
  anything computed from it and from constants alone) are computed once, with the same kernels,
  and kept; the sums whose only use was their shape go with them;
- `pow(x, 1)` (torch copies x) and `x * 1` (exact in IEEE arithmetic) become x, and an expand to
  the shape a tensor already has becomes the tensor;
- a Python number operand of `+ - * /` becomes a 0-dim tensor of the operation's dtype: the
  kernel reads the number in that dtype either way, so it computes the same thing;
- the gradient's coordinates, which autograd writes into tensors of zeros and adds, are stacked
  and 0 added (as the zeros turn -0.0 into +0.0).

compiled_runs checks the rewritten graph against autograd on the run's own points before using
it, and tests/test_engine.py compares every surface against torch.optim; this module only has
to be right, not to be trusted.
"""

from __future__ import annotations

import operator

import torch
from torch.fx import GraphModule, Interpreter, Node

aten = torch.ops.aten
_ARITHMETIC = {aten.add.Tensor, aten.sub.Tensor, aten.mul.Tensor, aten.div.Tensor}
_NUMBER_OVERLOADS = {aten.mul.Scalar: aten.mul.Tensor, aten.div.Scalar: aten.div.Tensor}
# Their value depends on their tensor argument's shape and dtype only.
_SHAPE_ONLY = {
    aten.ones_like.default,
    aten.zeros_like.default,
    aten.full_like.default,
    aten.new_ones.default,
    aten.new_zeros.default,
    aten.new_full.default,
}


def rewrite(graph: GraphModule, example: torch.Tensor) -> None:
    """Rewrite a make_fx graph of one tensor input in place (before strip_overloads: its
    targets are overloads), for inputs of example's shape, dtype and device. A graph that
    writes into a tensor is left as it is: a node's value would depend on when it is read."""
    if any(_mutates(node) for node in graph.graph.nodes):
        return
    _fold_constants(graph, example)
    _numbers_as_tensors(graph)
    _drop_identities(graph)
    _stack_coordinates(graph)
    graph.graph.eliminate_dead_code()
    graph.graph.lint()
    graph.recompile()


def _fold_constants(graph: GraphModule, example: torch.Tensor) -> None:
    """Replace every value computed from constants and shapes only by that value."""
    constant: set[Node] = set()
    for node in graph.graph.nodes:
        if node.op == "get_attr" or (
            node.op == "call_function"
            and _deterministic(node)
            and (node.target in _SHAPE_ONLY or all(arg in constant for arg in node.all_input_nodes))
        ):
            constant.add(node)
    wanted = [
        n for n in constant if n.op == "call_function" and any(u not in constant for u in n.users)
    ]
    if not wanted:
        return
    values = _values(graph, example, set(wanted))
    for node in wanted:
        if not isinstance(values[node], torch.Tensor):
            continue  # a tuple of tensors (split, ...): its items are read by getitem
        with graph.graph.inserting_before(node):
            node.replace_all_uses_with(_constant(graph, values[node]))


def _numbers_as_tensors(graph: GraphModule) -> None:
    """`x * 2.0` -> `x * tensor(2.0)` (and + - /, `2.0 - x`), in x's dtype where it is the
    result's: floating tensors, where a number operand is read in the tensor's own dtype."""
    for node in list(graph.graph.nodes):
        if node.op != "call_function":
            continue
        target = _NUMBER_OVERLOADS.get(node.target, node.target)
        args = list(node.args)
        if target is aten.rsub.Scalar:  # other - alpha * x, as torch writes it: sub(other, x)
            target, args = aten.sub.Tensor, [args[1], args[0], *args[2:]]
        if target not in _ARITHMETIC:
            continue
        dtype = _dtype(node)
        if dtype not in (torch.float32, torch.float64):
            continue
        tensors = [a for a in args[:2] if isinstance(a, Node)]
        if len(tensors) != 1 or _dtype(tensors[0]) != dtype:
            continue
        number = next(i for i in (0, 1) if not isinstance(args[i], Node))
        if type(args[number]) not in (int, float):
            continue  # bools, complex numbers: promotion rules of their own
        with graph.graph.inserting_before(node):
            args[number] = _constant(
                graph, torch.tensor(args[number], dtype=dtype, device=_device(node))
            )
            new = graph.graph.call_function(target, tuple(args), dict(node.kwargs))
            new.meta = dict(node.meta)
            node.replace_all_uses_with(new)
        graph.graph.erase_node(node)


def _drop_identities(graph: GraphModule) -> None:
    """pow(x, 1), x * ones and expand(x, x's shape) -> x, unless that makes a view of the input
    a result of the graph (the loop steps the input in place after reading the results). The
    graph is functional: nothing else can tell x from its copy."""
    for node in list(graph.graph.nodes):
        if node.op != "call_function":
            continue
        same = None
        if node.target is aten.pow.Tensor_Scalar and node.args[1] in (1, 1.0):
            same = node.args[0]
        elif node.target is aten.expand.default:
            same = node.args[0]
        elif node.target is aten.mul.Tensor and not node.kwargs:
            a, b = node.args
            same = a if _is_ones(graph, b) else b if _is_ones(graph, a) else None
        if (
            isinstance(same, Node)
            and _alike(same, node)
            and (_own_result(same) or all(u.op != "output" for u in node.users))
        ):
            node.replace_all_uses_with(same)


def _stack_coordinates(graph: GraphModule) -> None:
    """The gradient of f(x, y) is assembled as select_backward(dx, 0) + select_backward(dy, 1):
    each a tensor of zeros with one coordinate written, then a sum. That is stack([dx, dy]) + 0:
    x + 0.0 is x, but for -0.0, which the zeros turn into +0.0 (the only difference kept)."""
    for node in list(graph.graph.nodes):
        if not (
            node.op == "call_function"
            and node.target is aten.add.Tensor
            and not node.kwargs
            and len(node.args) == 2
        ):
            continue
        a, b = node.args
        if not all(
            isinstance(n, Node)
            and n.target is aten.select_backward.default
            and len(n.users) == 1
            and _alike(n, node)
            for n in (a, b)
        ):
            continue
        (grad_a, shape, dim, index_a), (grad_b, _, dim_b, index_b) = a.args, b.args
        if list(shape) != list(b.args[1]) or dim != dim_b or shape[dim] != 2:
            continue
        if {index_a, index_b} != {0, 1} or {_dtype(grad_a), _dtype(grad_b)} != {_dtype(node)}:
            continue
        first, second = (grad_a, grad_b) if index_a == 0 else (grad_b, grad_a)
        with graph.graph.inserting_before(node):
            stacked = graph.graph.call_function(aten.stack.default, ([first, second], dim))
            zero = _constant(graph, torch.zeros((), dtype=_dtype(node), device=_device(node)))
            new = graph.graph.call_function(aten.add.Tensor, (stacked, zero))
            new.meta = dict(node.meta)
        node.replace_all_uses_with(new)


def _values(
    graph: GraphModule, example: torch.Tensor, wanted: set[Node]
) -> dict[Node, torch.Tensor]:
    """The graph's values at these nodes, run on the example."""
    found: dict[Node, torch.Tensor] = {}

    class Recorder(Interpreter):
        def run_node(self, n: Node):  # noqa: ANN202 - fx's signature
            value = super().run_node(n)
            if n in wanted:
                found[n] = value
            return value

    with torch.no_grad():
        Recorder(graph).run(example)
    return found


def _constant(graph: GraphModule, value: torch.Tensor) -> Node:
    name = f"_constant{sum(1 for n in graph.graph.nodes if n.op == 'get_attr')}"
    while hasattr(graph, name):
        name += "_"
    graph.register_buffer(name, value.detach())
    node = graph.graph.get_attr(name)
    node.meta["val"] = value
    return node


def _mutates(node: Node) -> bool:
    """Whether a node may write into a tensor (any call that is not a known pure one)."""
    if node.op != "call_function":
        return node.op not in ("placeholder", "get_attr", "output")
    if node.target is operator.getitem:  # an item of a tuple result (split, unbind, ...)
        return False
    schema = getattr(node.target, "_schema", None)
    return schema is None or schema.is_mutable


def _deterministic(node: Node) -> bool:
    if node.target is operator.getitem:
        return True
    tags = getattr(node.target, "tags", None)
    return tags is not None and torch.Tag.nondeterministic_seeded not in tags


def _is_ones(graph: GraphModule, arg: object) -> bool:
    if not (isinstance(arg, Node) and arg.op == "get_attr"):
        return False
    value = getattr(graph, arg.target)
    return bool((value == 1).all())


def _own_result(node: Node) -> bool:
    """Whether a node's tensor is memory of its own: not the input, not a view of anything."""
    if node.op != "call_function":
        return False
    schema = getattr(node.target, "_schema", None)
    return schema is not None and all(r.alias_info is None for r in schema.returns)


def _alike(a: Node, b: Node) -> bool:
    va, vb = a.meta.get("val"), b.meta.get("val")
    return (
        isinstance(va, torch.Tensor)
        and isinstance(vb, torch.Tensor)
        and va.shape == vb.shape
        and va.dtype == vb.dtype
    )


def _dtype(node: Node) -> torch.dtype | None:
    value = node.meta.get("val")
    return value.dtype if isinstance(value, torch.Tensor) else None


def _device(node: Node) -> torch.device:
    value = node.meta["val"]
    return value.device
