"""Figure creation, the one CJK font set-up, and PNG export shared by every chart."""

from __future__ import annotations

import io
import logging
import re
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

import matplotlib

matplotlib.use("Agg")  # no display anywhere Tingfeng runs; set before any backend import

from matplotlib import font_manager  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

if TYPE_CHECKING:
    from matplotlib.axes import Axes

__all__ = [
    "CJK_FONTS", "bundled_font_path", "figure_png", "new_figure", "setup_cjk_font", "subplots",
]

log = logging.getLogger(__name__)

# Tried in order; the first registered one wins. A system font (Debian: `fonts-noto-cjk`) is
# preferred; the Noto Sans CJK collection that `pip install` brings (noto-cjk-sans-otc) is the
# fallback, so a fresh machine renders Chinese with no apt step and no download at run time.
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
# File names of system CJK fonts, for a font cache older than the font (matplotlib caches its
# font list in ~/.cache/matplotlib and never rescans: a font installed later stays invisible).
_CJK_FILE = re.compile(r"(?i)(cjk|sourcehan|wqy|wenquanyi|simhei|msyh|pingfang)")


def _registered() -> set[str]:
    return {f.name for f in font_manager.fontManager.ttflist}


def _register(paths: list[str]) -> None:
    for path in paths:
        try:
            font_manager.fontManager.addfont(path)
        except (OSError, RuntimeError, ValueError) as exc:  # a broken font file is skipped
            log.debug("font %s not usable: %s", path, exc)


def bundled_font_path() -> str | None:
    """The CJK font collection shipped by the ``noto-cjk-sans-otc`` dependency, if installed."""
    try:
        import noto_cjk_sans_otc  # the package carries only the font file
    except ImportError:
        return None
    path = Path(noto_cjk_sans_otc.__file__).with_name("NotoSansCJK-Regular.ttc")
    return str(path) if path.is_file() else None


@lru_cache(maxsize=1)
def setup_cjk_font() -> str | None:
    """Put the first available CJK font in front of matplotlib's sans-serif list, once.

    Order: a CJK font matplotlib already knows; a system CJK font its cache missed; the
    bundled Noto Sans CJK. Returns the font's name, or None (with a warning naming the fix)
    when none can be found: Chinese labels would then render as boxes.
    """
    name = _first_cjk(_registered())
    if name is None:
        known = {f.fname for f in font_manager.fontManager.ttflist}
        _register([p for p in font_manager.findSystemFonts()
                   if p not in known and _CJK_FILE.search(Path(p).name)])
        name = _first_cjk(_registered())
    if name is None and (bundled := bundled_font_path()):
        _register([bundled])
        name = _first_cjk(_registered())
    if name is None:
        log.warning(
            "no CJK font found: Chinese chart labels will not render. "
            "Reinstall Tingfeng (`pip install -e .` brings noto-cjk-sans-otc) or install "
            "a system font, e.g. `apt-get install fonts-noto-cjk`."
        )
        return None
    families = list(matplotlib.rcParams["font.sans-serif"])
    matplotlib.rcParams["font.sans-serif"] = [name, *[f for f in families if f != name]]
    matplotlib.rcParams["font.family"] = "sans-serif"
    matplotlib.rcParams["axes.unicode_minus"] = False  # CJK fonts lack U+2212
    return name


def _first_cjk(installed: set[str]) -> str | None:
    return next((name for name in CJK_FONTS if name in installed), None)


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
