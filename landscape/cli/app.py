"""The typer app and the one place where errors become what a user sees."""

from __future__ import annotations

import gc
import os
import sys
import tempfile
import traceback
from collections.abc import Sequence
from pathlib import Path

import typer

from landscape import folders
from landscape.errors import LandscapeError

app = typer.Typer(
    name="landscape",
    help="Optimizers moving over loss landscapes: traces, figures, animations and MNIST slices.",
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)


def entry() -> None:
    """The `landscape` command and `python -m landscape`: main() in a process of its own."""
    # What the imports made (torch's and matplotlib's modules, most of it) lives until exit:
    # frozen, the cycle collector does not walk it all again at shutdown (most of a second of
    # every command). Not in main(), which tests call in one long process where freezing would
    # keep their garbage.
    gc.freeze()
    sys.exit(main())


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; return the exit code. User errors: one line on stderr and exit code 2."""
    try:
        result = app(
            args=list(argv) if argv is not None else None,
            prog_name="landscape",
            standalone_mode=False,
        )
        if result == 130:  # typer turns Ctrl-C into a silent return of 130
            return _interrupted()
        return result if isinstance(result, int) else 0
    except LandscapeError as err:
        return _fail(str(err))
    except typer.Exit as err:
        return err.exit_code
    except typer.TyperException as err:  # click's usage errors, vendored by typer
        ctx = getattr(err, "ctx", None)
        if type(err).__name__ == "NoArgsIsHelpError" and ctx is not None:
            print(ctx.get_help())
            return 0
        return _fail(usage_message(err))
    except (KeyboardInterrupt, typer.Abort):
        return _interrupted()
    except BrokenPipeError:
        return 0
    except Exception as err:  # noqa: BLE001  (anything unexpected: short message, traceback kept)
        print(f"internal error: {type(err).__name__}: {err}".splitlines()[0], file=sys.stderr)
        text = traceback.format_exc()
        saved = _save_traceback(text)
        if saved is None:
            print(text, file=sys.stderr, end="")
            print("The traceback could not be saved to a file; please report it.", file=sys.stderr)
        else:
            print(f"The full traceback is in {saved}; please report it.", file=sys.stderr)
        return 1


def usage_message(err: typer.TyperException) -> str:
    """A usage error (unknown option, value out of range) as the one line the CLI prints."""
    ctx = getattr(err, "ctx", None)
    hint = f" (see '{ctx.command_path} --help')" if ctx is not None else ""
    return f"{err.format_message()}{hint}".replace("\n", " ")


def _save_traceback(text: str) -> Path | None:
    """Write `text` to a fresh file only this user can read: in the user's cache folder, else in
    the temp folder. A fixed name in a shared folder could be read, or pre-created as a symlink,
    by another user."""
    for folder in (folders.user_cache_dir() / "errors", None):  # None: the temp folder
        try:
            if folder is not None:
                folder.mkdir(parents=True, exist_ok=True)
            handle, name = tempfile.mkstemp(prefix="landscape-error-", suffix=".txt", dir=folder)
            with os.fdopen(handle, "w") as file:
                file.write(text)
            return Path(name)
        except OSError:
            continue
    return None


def _interrupted() -> int:
    # Outputs are written atomically, so nothing half-written is left; grids resume.
    print("Interrupted.", file=sys.stderr)
    return 130


def _fail(message: str) -> int:
    print(f"Error: {message}", file=sys.stderr)
    return 2
