"""The live page: drag a start, move a slider, watch the optimizers run again.

`landscape explore` serves it (landscape.explore.server), `--export` writes it as one offline
file (landscape.explore.offline), and explore() shows it in a notebook (landscape.explore.widget).
Its runs are `landscape trace`'s (landscape.explore.api), its state trace's options
(landscape.explore.query).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

EXPLORE_OPTIONS = ("lr", "params", "steps", "starts", "noise", "seed", "dtype", "domain")


def explore(
    surface: str = "rosenbrock",
    optimizers: Sequence[str] | None = None,
    *,
    lr: float | Mapping[str, float] | None = None,
    **options: Any,
) -> Any:
    """The live page as a notebook widget: `landscape.explore("beale", ["adam", "sgd"],
    lr={"adam": 0.05}, starts=[(1, 1.5)], steps=300)`.

    Args:
        surface: a surface name or an expression in x and y.
        optimizers: preset names or dotted class paths; default the lesson's four.
        lr: one learning rate for all, or {optimizer: rate}.
        options: the other run options of landscape.options.RunOptions (params, steps,
            starts, noise, seed, dtype, domain).

    Returns:
        An anywidget widget; the last expression of a cell shows it.
    """
    from landscape.errors import LandscapeError
    from landscape.explore import query as query_
    from landscape.options import RunOptions

    try:
        from landscape.explore.widget import ExploreWidget
    except ImportError as err:
        raise LandscapeError(f"explore() needs anywidget ({err}): pip install anywidget") from None
    unknown = sorted(set(options) - set(EXPLORE_OPTIONS))
    if unknown:
        raise LandscapeError(
            f"explore() takes no option {unknown[0]!r} (valid: lr, "
            f"{', '.join(o for o in EXPLORE_OPTIONS if o != 'lr')})"
        )

    rates = () if lr is None else lr.items() if isinstance(lr, Mapping) else [(None, lr)]
    run_options = RunOptions(lr=tuple(rates), **options)
    query = query_.to_query(surface, optimizers, run_options)
    query_.parse(query)  # every value checked as `landscape trace` checks it, and the caps
    return ExploreWidget(query)
