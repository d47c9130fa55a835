"""Themes for figures: light, dark, transparent; type sized for the back of a lecture hall."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import matplotlib as mpl

from landscape.errors import unknown
from landscape.style import THEMES, Theme


def get_theme(theme: str | Theme) -> Theme:
    """A Theme by name (light, dark, transparent), or the Theme itself."""
    if isinstance(theme, Theme):
        return theme
    if theme not in THEMES:
        raise unknown("theme", str(theme), THEMES)
    return THEMES[theme]


def theme_rc(theme: str | Theme) -> dict[str, object]:
    """rcParams for a theme, sized for slides: text that reads at the back of a lecture hall."""
    t = get_theme(theme)
    fill = "none" if t.transparent else t.background
    legend_fill = "#1E2228" if t.name == "dark" else "white"
    return {
        "figure.facecolor": fill,
        "axes.facecolor": fill,
        "savefig.facecolor": fill,
        "savefig.transparent": t.transparent,
        "text.color": t.foreground,
        "axes.labelcolor": t.foreground,
        "axes.edgecolor": t.foreground,
        "axes.titlecolor": t.foreground,
        "xtick.color": t.foreground,
        "ytick.color": t.foreground,
        "grid.color": t.muted,
        "grid.alpha": 0.35,
        "legend.facecolor": legend_fill,
        "legend.edgecolor": t.muted,
        "legend.framealpha": 0.9,
        "legend.labelcolor": "#1A1A1A" if t.name == "transparent" else t.foreground,
        "axes3d.xaxis.panecolor": (0.5, 0.5, 0.5, 0.06),
        "axes3d.yaxis.panecolor": (0.5, 0.5, 0.5, 0.06),
        "axes3d.zaxis.panecolor": (0.5, 0.5, 0.5, 0.10),
        "font.size": 13,
        "axes.titlesize": 15,
        "axes.labelsize": 14,
        "legend.fontsize": 11.5,
        "figure.titlesize": 17,
        "lines.solid_capstyle": "round",
    }


@contextlib.contextmanager
def themed(theme: str | Theme) -> Iterator[Theme]:
    """Draw in a theme: make the Figure and its artists inside this block."""
    t = get_theme(theme)
    with mpl.rc_context(theme_rc(t)):
        yield t
