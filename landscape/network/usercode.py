"""The user's own code, named FILE.py:NAME or package.module:NAME: a model, data or a loss.

These files are the user's code and run as such (imported like any module), with their folder
on the import path while they load so that they can import their neighbours.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import inspect
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from torch import nn

from landscape.errors import LandscapeError


def load_symbol(spec: str, what: str) -> Any:
    """The object NAME of FILE.py:NAME or package.module:NAME; `what` is the option, for errors."""
    source, sep, name = str(spec).rpartition(":")
    if not sep or not source or not name.isidentifier():
        raise LandscapeError(f"{what} {spec!r}: write FILE.py:NAME or package.module:NAME")
    if source.endswith(".py") or "/" in source or "\\" in source:
        module = _load_file(Path(source), spec, what)
    else:
        try:
            module = importlib.import_module(source)
        except ModuleNotFoundError as err:
            raise LandscapeError(f"{what} {spec!r}: no module {err.name!r} to import") from None
        except Exception as err:  # the user's code failed while it loaded
            raise LandscapeError(
                f"{what} {spec!r}: importing {source} raised {type(err).__name__}: {err}"
            ) from None
    if not hasattr(module, name):
        found = sorted(n for n, v in vars(module).items() if callable(v) and not n.startswith("_"))
        raise LandscapeError(
            f"{what} {spec!r}: {name!r} not found in {source} "
            f"(it defines: {', '.join(found[:12]) or 'nothing callable'})"
        )
    return getattr(module, name)


def _load_file(path: Path, spec: str, what: str) -> Any:
    if not path.is_file():
        raise LandscapeError(f"{what} {spec!r}: no file {str(path)!r}")
    resolved = path.resolve()
    key = "landscape_user_" + hashlib.sha256(str(resolved).encode()).hexdigest()[:16]
    if key in sys.modules:  # one module per file, however often it is named
        return sys.modules[key]
    loader = importlib.util.spec_from_file_location(key, resolved)
    if loader is None or loader.loader is None:
        raise LandscapeError(f"{what} {spec!r}: {str(path)!r} is not a Python file")
    module = importlib.util.module_from_spec(loader)
    sys.modules[key] = module
    sys.path.insert(0, str(resolved.parent))
    try:
        loader.loader.exec_module(module)
    except Exception as err:  # the user's code failed while it loaded
        del sys.modules[key]
        raise LandscapeError(
            f"{what} {spec!r}: running {path.name} raised {type(err).__name__}: {err}"
        ) from None
    finally:
        sys.path.remove(str(resolved.parent))
    return module


def model_factory(spec: str | Callable[[], nn.Module]) -> Callable[[], nn.Module]:
    """A function making the model: NAME is an nn.Module class or a function returning one,
    called without arguments. Checked by making one."""
    factory = load_symbol(spec, "--model") if isinstance(spec, str) else spec
    if not callable(factory):
        raise LandscapeError(
            f"--model {spec!r}: {type(factory).__name__} is not a class or a function"
        )
    make_model(factory, spec)
    return factory


def make_model(factory: Callable[[], nn.Module], spec: object = None) -> nn.Module:
    """factory(), checked to be an nn.Module."""
    named = spec if spec is not None else getattr(factory, "__name__", factory)
    try:
        model = factory()
    except TypeError as err:
        if _needs_arguments(factory):
            raise LandscapeError(
                f"--model {named!r}: must be callable without arguments "
                f"({err}); wrap it in a function that returns the "
                "model"
            ) from None
        raise LandscapeError(f"--model {named!r} raised TypeError: {err}") from None
    except Exception as err:
        raise LandscapeError(f"--model {named!r} raised {type(err).__name__}: {err}") from None
    if not isinstance(model, nn.Module):
        raise LandscapeError(
            f"--model {named!r} returned {type(model).__name__}, not a torch.nn.Module"
        )
    return model


def _needs_arguments(factory: Callable[..., Any]) -> bool:
    try:
        signature = inspect.signature(factory)
    except (TypeError, ValueError):
        return False
    return any(
        p.default is p.empty
        and p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)
        for p in signature.parameters.values()
    )


def is_closure(loss: Callable[..., Any]) -> bool:
    """Whether a loss is a closure loss(model, batch), told by its first parameter's name."""
    try:
        parameters = list(inspect.signature(loss).parameters)
    except (TypeError, ValueError):
        return False
    return bool(parameters) and parameters[0] in ("model", "net", "network", "module")
