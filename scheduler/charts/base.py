"""Figure creation, the one CJK font set-up, and PNG export shared by every chart."""

from __future__ import annotations

import io
import logging
from functools import lru_cache
from typing import TYPE_CHECKING

import matplotlib

matplotlib.use("Agg")  # no display anywhere Tingfeng runs; set before any backend import

from matplotlib import font_manager  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

if TYPE_CHECKING:
    from matplotlib.axes import Axes

__all__ = ["CJK_FONTS", "figure_png", "new_figure", "setup_cjk_font", "subplots"]

log = logging.getLogger(__name__)

# Tried in order; the first installed one wins. Debian: `apt-get install fonts-noto-cjk`.
CJK_FONTS = (
    "Noto Sans CJK SC",
    "Noto Sans CJK JP",
    "Noto Serif CJK SC",
    "Source Han Sans SC",
    "WenQuanYi Zen Hei",
    "WenQuanYi Micro Hei",
    "SimHei",
    "Microsoft YaHei",
    "PingFang SC",
)


@lru_cache(maxsize=1)
def setup_cjk_font() -> str | None:
    """Put the first installed CJK font in front of matplotlib's sans-serif list, once.

    Returns the font's name, or None (with a warning naming the fix) when none is installed:
    Chinese labels would then render as boxes.
    """
    installed = {f.name for f in font_manager.fontManager.ttflist}
    for name in CJK_FONTS:
        if name in installed:
            families = list(matplotlib.rcParams["font.sans-serif"])
            matplotlib.rcParams["font.sans-serif"] = [name, *[f for f in families if f != name]]
            matplotlib.rcParams["font.family"] = "sans-serif"
            matplotlib.rcParams["axes.unicode_minus"] = False  # CJK fonts lack U+2212
            return name
    log.warning(
        "no CJK font found: Chinese chart labels will not render. "
        "Install one, e.g. `apt-get install fonts-noto-cjk`."
    )
    return None


def new_figure(width: float = 8.0, height: float = 4.0, dpi: int = 100) -> Figure:
    """A standalone Figure (not registered with pyplot, so it is freed with its last reference)."""
    setup_cjk_font()
    return Figure(figsize=(width, height), dpi=dpi, layout="constrained")


def subplots(ax: Axes | None, width: float = 8.0, height: float = 4.0) -> tuple[Figure, Axes]:
    """The figure and axes to draw on: the caller's ``ax`` or a new single-axes figure."""
    if ax is not None:
        fig = ax.get_figure()
        assert isinstance(fig, Figure)
        return fig, ax
    fig = new_figure(width, height)
    return fig, fig.add_subplot()


def figure_png(fig: Figure, dpi: int | None = None) -> bytes:
    """Render ``fig`` to PNG bytes."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi or fig.dpi)
    return buf.getvalue()
