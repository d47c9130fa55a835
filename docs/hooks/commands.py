"""mkdocs hook: one page per command of `landscape --help`, written from the typer app at build
time, so that a command or option added to the CLI appears in the site without editing it.

Each page holds the command's help, its usage line, a table of its arguments and options (as
`--help` prints them, with their defaults), and its examples: every `landscape NAME ...` line of
a shell block in the site's other pages, with a link to the page it comes from.

The gallery's pictures stay in the repository's imgs/ and pages link them as GitHub shows them
(`../imgs/NAME.png` from docs/): the hook adds imgs/ to the site and points those links there.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import typer

ROOT = Path(__file__).resolve().parents[2]
IMGS = "imgs"
COMMANDS_DIR = "commands"
INDEX = f"{COMMANDS_DIR}/index.md"
SHELL = {"", "bash", "console", "sh", "shell"}  # the fences whose lines may be commands
EXTRAS = re.compile(r"\s*\[([^\[\]]*)\]\s*$")  # click's "[default: 0.5; x>=1]" after a help text


@dataclass(frozen=True)
class Example:
    line: str  # "landscape trace rosenbrock   # the lesson's start"
    page: str  # the page it was found on, relative to docs/: "surfaces.md"


def landscape_group() -> typer.core.TyperGroup:
    """The command group that `landscape` runs (typer builds it from the app)."""
    from landscape.cli import app

    return typer.main.get_command(app)


def command_names(group: typer.core.TyperGroup) -> list[str]:
    """The commands in the order `landscape --help` lists them."""
    with typer.Context(group, info_name="landscape") as ctx:
        return [name for name in group.list_commands(ctx) if not group.commands[name].hidden]


def shell_lines(text: str) -> list[str]:
    """The lines of the Markdown `text`'s shell code blocks (fenced as bash, sh, console or
    with no language), in order."""
    lines, fence = [], None  # fence: the open block's language, None outside a block
    for line in text.splitlines():
        if fence is None and line.startswith("```"):
            fence = line[3:].strip()
        elif fence is not None and line.strip() == "```":
            fence = None
        elif fence in SHELL:
            lines.append(line)
    return lines


def find_examples(pages: dict[str, str], names: list[str]) -> dict[str, list[Example]]:
    """Per command, the `landscape NAME ...` lines of the shell blocks in `pages` (path -> text),
    in page order, each line once."""
    found: dict[str, list[Example]] = {name: [] for name in names}
    seen: set[str] = set()
    for page, text in pages.items():
        for line in shell_lines(text):
            words = line.split()
            if len(words) < 2 or words[0] != "landscape" or words[1] not in found:
                continue
            if line.strip() not in seen:
                seen.add(line.strip())
                found[words[1]].append(Example(line.strip(), page))
    return found


def _cell(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|")


def _parameter_rows(command, ctx: typer.Context) -> tuple[list, list]:
    """(arguments, options) as table rows: the names and the type as --help writes them, the
    help without its [extras] but with the other extras (range, required), and the default."""
    arguments, options = [], []
    for param in command.get_params(ctx):
        record = param.get_help_record(ctx)
        if record is None:  # a hidden parameter
            continue
        name, help_text = record
        default, extras = "", []
        found = EXTRAS.search(help_text)
        if found:
            help_text = help_text[: found.start()]
            for part in found[1].split(";"):
                part = part.strip()
                if part.startswith("default:"):
                    default = part.removeprefix("default:").strip()
                elif part:
                    extras.append(part)
        what = _cell(help_text) + (f" ({'; '.join(extras)})" if extras else "")
        names, _, kind = name.partition(" <")  # "-o, --optimizer <list[str]>"
        kind = _cell(kind.removesuffix(">"))
        row = (f"`{names}`", kind, what, f"`{default}`" if default else "")
        (arguments if param.param_type_name == "argument" else options).append(row)
    return arguments, options


def command_page(group: typer.core.TyperGroup, name: str, examples: list[Example]) -> str:
    """The Markdown page of `landscape NAME`."""
    command = group.commands[name]
    with typer.Context(group, info_name="landscape") as parent:
        with typer.Context(command, info_name=name, parent=parent) as ctx:
            usage = " ".join(command.collect_usage_pieces(ctx))
            arguments, options = _parameter_rows(command, ctx)
    lines = [
        f"# landscape {name}",
        "",
        _help(command),
        "",
        "```text",
        f"landscape {name} {usage}".rstrip(),
        "```",
        "",
    ]
    if arguments:
        lines += ["## Arguments", "", "| argument | type | what | default |", "|---|---|---|---|"]
        lines += [f"| {' | '.join(row)} |" for row in arguments] + [""]
    lines += ["## Options", "", "| option | type | what | default |", "|---|---|---|---|"]
    lines += [f"| {' | '.join(row)} |" for row in options] + [""]
    lines += ["## Examples", ""]
    for page in dict.fromkeys(e.page for e in examples):
        lines += [f"From [{_title(page)}](../{page}):", "", "```bash"]
        lines += [e.line for e in examples if e.page == page] + ["```", ""]
    return "\n".join(lines)


def index_page(group: typer.core.TyperGroup, names: list[str]) -> str:
    """The commands' overview: `landscape --help`'s list, each linked to its page."""
    lines = [
        "# Commands",
        "",
        _help(group),
        "",
        "Every command has `--help`. Bad input gets a one-line error naming the bad value "
        "and what is valid, and exit code 2.",
        "",
        "| command | what it does |",
        "|---|---|",
    ]
    for name in names:
        short = group.commands[name].get_short_help_str(limit=200)
        lines.append(f"| [`landscape {name}`]({name}.md) | {_cell(short)} |")
    return "\n".join(lines) + "\n"


def _help(command) -> str:
    return " ".join((command.help or "").split())


def _title(page: str) -> str:
    return Path(page).stem.replace("-", " ").capitalize()


# mkdocs events ---------------------------------------------------------------------------------


def on_config(config):
    """Fill the nav's "Commands" entry with the overview and one page per command."""
    names = command_names(landscape_group())
    pages = [{"Overview": INDEX}] + [{name: f"{COMMANDS_DIR}/{name}.md"} for name in names]
    for entry in config["nav"]:
        if isinstance(entry, dict) and entry.get("Commands") == INDEX:
            entry["Commands"] = pages
    return config


def on_files(files, config):
    """Add the generated command pages, their examples read from the site's Markdown pages."""
    from mkdocs.structure.files import File

    group = landscape_group()
    names = command_names(group)
    pages = {
        f.src_uri: Path(f.abs_src_path).read_text(encoding="utf-8")
        for f in files
        if f.is_documentation_page() and f.abs_src_path
    }
    examples = find_examples(pages, names)
    for picture in sorted((ROOT / IMGS).iterdir()):
        path = f"{IMGS}/{picture.name}"
        files.append(File(path, str(ROOT), config["site_dir"], config["use_directory_urls"]))
    files.append(File.generated(config, INDEX, content=index_page(group, names)))
    for name in names:
        content = command_page(group, name, examples[name])
        files.append(File.generated(config, f"{COMMANDS_DIR}/{name}.md", content=content))
    return files


def on_page_markdown(markdown, page, config, files):
    """Links to the repository's imgs/ as GitHub reads them from docs/ (one more "../" than the
    page's depth) point to the site's copy instead."""
    depth = page.file.src_uri.count("/")
    return markdown.replace("../" * (depth + 1) + f"{IMGS}/", "../" * depth + f"{IMGS}/")
