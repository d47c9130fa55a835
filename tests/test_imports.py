"""The package's shape, read from its source with ast: data flows one way, so no package (nor
module) imports one that imports it back, and no command module imports another command.

Every import counts, those inside functions too: an import moved into a function still makes
the two modules depend on each other. A name imported from a package (`from landscape.mnist
import load_mnist`) counts as an import of the module that defines it, when the package's
__init__ re-exports it: re-exporting is not depending.
"""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "landscape"
# The CLI's shared declarations: the app, option text parsers, run options, network options,
# the console and progress bars. Everything else in landscape/cli registers commands.
CLI_SHARED = {"app", "args", "console", "progress", "run", "network"}


def modules(root: Path = PACKAGE) -> dict[str, tuple[Path, ast.Module]]:
    """Dotted name -> (file, syntax tree) for every module under `root`."""
    found = {}
    for path in sorted(root.rglob("*.py")):
        parts = path.relative_to(root.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        found[name] = (path, ast.parse(path.read_text(), filename=str(path)))
    return found


def import_graph(found: dict[str, tuple[Path, ast.Module]]) -> dict[str, set[str]]:
    """Module -> the modules it imports (anywhere in it), re-exports followed to their origin."""
    reexports = {  # package -> {name: the module its __init__ imports it from}
        name: {
            alias.asname or alias.name: _target(node.module, alias.name, found)
            for node in tree.body
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0
            for alias in node.names
        }
        for name, (path, tree) in found.items()
        if path.name == "__init__.py"
    }

    def origin(module: str, name: str, seen: frozenset[str] = frozenset()) -> str:
        target = _target(module, name, found)
        if target != module or module not in reexports or module in seen:
            return target
        source = reexports[module].get(name, module)
        if source == module or source not in found:
            return module
        return origin(source, name, seen | {module}) if source in reexports else source

    graph = {}
    for name, (_, tree) in found.items():
        targets = set()
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                targets |= {origin(node.module, alias.name) for alias in node.names}
            elif isinstance(node, ast.Import):
                targets |= {alias.name for alias in node.names}
        graph[name] = {t for t in targets if t in found and t != name}
    return graph


def _target(module: str, name: str, found: dict) -> str:
    """`from module import name`: the submodule when `name` is one, else `module`."""
    return f"{module}.{name}" if f"{module}.{name}" in found else module


def package_of(module: str) -> str:
    """landscape.slice.grid -> landscape.slice; landscape.grid -> landscape.grid."""
    return ".".join(module.split(".")[:2])


def package_graph(graph: dict[str, set[str]]) -> dict[str, set[str]]:
    packages: dict[str, set[str]] = {}
    for module, targets in graph.items():
        edges = packages.setdefault(package_of(module), set())
        edges |= {package_of(t) for t in targets} - {package_of(module)}
    return packages


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one member (Tarjan), sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for other in sorted(graph.get(node, ())):
            if other not in index:
                visit(other)
                low[node] = min(low[node], low[other])
            elif other in stack:
                low[node] = min(low[node], index[other])
        if low[node] == index[node]:
            component = []
            while not component or component[-1] != node:
                component.append(stack.pop())
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return sorted(found)


def command_modules(found: dict[str, tuple[Path, ast.Module]]) -> set[str]:
    """The modules of landscape/cli that register a command (`@app.command(...)`)."""
    return {
        name
        for name, (_, tree) in found.items()
        if name.startswith("landscape.cli.")
        and any(
            isinstance(d, ast.Call)
            and isinstance(d.func, ast.Attribute)
            and d.func.attr == "command"
            for node in ast.walk(tree)
            if isinstance(node, ast.FunctionDef)
            for d in node.decorator_list
        )
    }


FOUND = modules()
GRAPH = import_graph(FOUND)
# landscape.explore parses a page's query with `landscape trace`'s own click command (so that
# a link, the page and the command mean one thing), and `landscape explore` starts the page:
# the trace command sits below the page and the explore command above it, both in cli/.
KNOWN = [["landscape.cli", "landscape.explore"]]


def test_no_package_imports_a_package_that_imports_it():
    # KNOWN and nothing else: the one package pair stays while it is there, and is named here.
    assert cycles(package_graph(GRAPH)) == KNOWN


def test_no_module_imports_a_module_that_imports_it():
    assert cycles(GRAPH) == []


def test_command_modules_import_no_other_command_module():
    commands = command_modules(FOUND)
    assert {f"landscape.cli.{n}" for n in CLI_SHARED}.isdisjoint(commands)
    assert {"landscape.cli.trace", "landscape.cli.slice", "landscape.cli.lesson"} <= commands
    crossing = {m: sorted(GRAPH[m] & commands) for m in sorted(commands) if GRAPH[m] & commands}
    assert crossing == {}


def test_the_checks_see_what_they_check(tmp_path):
    """A cycle through an import inside a function, across packages and through a package's
    re-export, is found; so is a command importing a command."""
    (tmp_path / "landscape" / "low").mkdir(parents=True)
    (tmp_path / "landscape" / "cli").mkdir()
    files = {
        "__init__.py": "",
        "low/__init__.py": "from landscape.low.core import thing\n",
        "low/core.py": "def thing():\n    from landscape.high import top\n",
        "high.py": "from landscape.low import thing\ntop = 1\n",
        "cli/__init__.py": "",
        "cli/app.py": "app = None\n",
        "cli/a.py": "from landscape.cli.app import app\n@app.command('a')\ndef a(): ...\n",
        "cli/b.py": (
            "from landscape.cli.app import app\nfrom landscape.cli.a import a\n"
            "@app.command('b')\ndef b(): ...\n"
        ),
    }
    for name, text in files.items():
        (tmp_path / "landscape" / name).write_text(text)
    found = modules(tmp_path / "landscape")
    graph = import_graph(found)
    assert graph["landscape.high"] == {"landscape.low.core"}  # through the re-export
    assert cycles(graph) == [["landscape.high", "landscape.low.core"]]
    assert cycles(package_graph(graph)) == [["landscape.high", "landscape.low"]]
    assert command_modules(found) == {"landscape.cli.a", "landscape.cli.b"}
    assert graph["landscape.cli.b"] & command_modules(found) == {"landscape.cli.a"}
