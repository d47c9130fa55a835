"""The documentation: every command and option of `landscape --help` on its generated page, with
examples that the CLI accepts; the README short, with its two commands and links that resolve;
the documented functions' Args naming every parameter. `make docs` builds the whole site with
--strict (broken links and anchors); this checks what a build cannot."""

from __future__ import annotations

import importlib.util
import re
import shlex
import sys
from pathlib import Path

import griffe
import pytest
import typer

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
README = ROOT / "README.md"


def _hook():
    spec = importlib.util.spec_from_file_location("docs_commands", DOCS / "hooks" / "commands.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


hook = _hook()
GROUP = hook.landscape_group()
NAMES = hook.command_names(GROUP)
PAGES = {str(p.relative_to(DOCS)): p.read_text() for p in sorted(DOCS.rglob("*.md"))}
EXAMPLES = hook.find_examples(PAGES, NAMES)


def _help(*args: str) -> str:
    """What `landscape ARGS --help` prints, through the same app (not the hook)."""
    from typer.testing import CliRunner

    from landscape.cli import app

    result = CliRunner().invoke(app, [*args, "--help"], prog_name="landscape")
    assert result.exit_code == 0, result.output
    return result.output


def _listed_commands() -> list[str]:
    listing = _help().split("Commands:", 1)[1]
    return re.findall(r"^\s{2}(\w[\w-]*)\s", listing, re.M)


def test_the_hook_finds_every_command_that_help_lists():
    assert NAMES == _listed_commands() and len(NAMES) >= 10


@pytest.mark.parametrize("name", _listed_commands())
def test_every_option_of_a_command_is_on_its_page(name):
    page = hook.command_page(GROUP, name, EXAMPLES[name])
    # The first column of --help's options: "  -o, --optimizer <list[str]>  Preset ...".
    column = re.findall(r"^  (-[^<\n]*?)(?: <|  |$)", _help(name).split("Options:")[1], re.M)
    options = {option.strip() for names in column for option in names.split(",")}
    assert options, name
    for option in options:
        assert f"`{option}" in page or f", {option}" in page, (name, option)
    defaults = re.findall(r"\[default: ([^;\]]+)", " ".join(_help(name).split()))
    for default in defaults:
        assert f"`{default.strip()}`" in page, (name, default)
    assert page.startswith(f"# landscape {name}\n")


@pytest.mark.parametrize("name", _listed_commands())
def test_every_command_has_an_example_the_cli_accepts(name):
    assert EXAMPLES[name], f"no `landscape {name} ...` line in a shell block of docs/*.md"
    command = GROUP.commands[name]
    for example in EXAMPLES[name]:
        words = shlex.split(example.line, comments=True)
        with typer.Context(GROUP, info_name="landscape") as parent:
            command.make_context(name, words[2:], parent=parent)  # raises on a bad option
    page = hook.command_page(GROUP, name, EXAMPLES[name])
    assert EXAMPLES[name][0].line in page


def test_examples_come_from_shell_blocks_only():
    text = "\n".join(
        [
            "landscape trace prose",  # not in a block
            "```python",
            "landscape trace python",
            "```",
            "landscape trace between",  # after a block's closing fence: still prose
            "```",
            "landscape trace untagged  # a comment",
            "```",
            "```text",
            "landscape trace text",
            "```",
            "```bash",
            "landscape plot booth",
            "landscape nosuch command",
            "```",
            "```console",
            "landscape trace untagged  # a comment",
            "```",
        ]
    )
    found = hook.find_examples({"page.md": text}, ["trace", "plot"])
    assert [e.line for e in found["trace"]] == ["landscape trace untagged  # a comment"]
    assert [e.line for e in found["plot"]] == ["landscape plot booth"]
    assert found["plot"][0].page == "page.md"


def test_the_index_links_every_command_page():
    index = hook.index_page(GROUP, NAMES)
    for name in NAMES:
        assert f"]({name}.md)" in index


def test_the_nav_gets_a_page_per_command():
    config = {"nav": [{"Home": "index.md"}, {"Commands": hook.INDEX}]}
    commands = hook.on_config(config)["nav"][1]["Commands"]
    assert [list(page.values())[0] for page in commands] == [hook.INDEX] + [
        f"commands/{name}.md" for name in NAMES
    ]


def test_the_readme_is_short_with_its_two_commands_and_one_example_per_command():
    text = README.read_text()
    assert len(text.splitlines()) <= 250
    assert "make demo" in text and "make test" in text
    examples = hook.find_examples({"README.md": text}, NAMES)
    assert [name for name in NAMES if len(examples[name]) != 1] == []
    for name, found in examples.items():
        words = shlex.split(found[0].line, comments=True)
        with typer.Context(GROUP, info_name="landscape") as parent:
            GROUP.commands[name].make_context(name, words[2:], parent=parent)


def test_the_readmes_relative_links_resolve():
    text = README.read_text()
    links = re.findall(r"\]\(([^)#]+)", text) + re.findall(r'src="([^"]+)"', text)
    local = [link for link in links if "://" not in link]
    assert any(link.startswith("docs/") for link in local)
    assert [link for link in local if not (ROOT / link).exists()] == []


def _documented(path: str) -> tuple[set[str], set[str]]:
    """(the parameters of the function at `path`, the names its docstring's Args give), a
    comma-separated entry ("x, y: ...") naming each of its names."""
    function = griffe.load(path.rsplit(".", 1)[0], search_paths=[ROOT])[path.rsplit(".", 1)[1]]
    parameters = {p.name for p in function.parameters} - {"self"}
    named = set()
    for section in function.docstring.parse("google"):
        if section.kind.value == "parameters":
            for entry in section.value:
                named |= {part.strip() for part in entry.name.split(",")}
    return parameters, named


@pytest.mark.parametrize(
    "path",
    [
        "landscape.trajectory.trace_all",
        "landscape.slice.grid.slice_grid",
    ],
)
def test_documented_functions_name_every_parameter(path):
    parameters, named = _documented(path)
    assert parameters - named == set()
