"""Topic charts: each returns PNG bytes, draws on a caller's axes, and plots the numbers given."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import pytest
from matplotlib import image

from scheduler.charts import new_figure
from scheduler.charts.timeline import plot_platforms, plot_sentiment, plot_tiers, plot_volume

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
T0 = datetime(2026, 11, 20, 16, tzinfo=UTC)
SENTIMENT = [  # (start, positive, neutral, negative)
    (T0, 3, 1, 1),
    (T0 + timedelta(days=1), 0, 4, 0),   # no polar posts: net sentiment undefined
    (T0 + timedelta(days=2), 1, 0, 3),
]


@pytest.fixture
def ax():
    fig = new_figure()
    return fig.add_subplot()


def _is_png(data: bytes) -> bool:
    return data.startswith(PNG_SIGNATURE) and len(data) > 1000


@pytest.mark.parametrize(("plot", "data"), [
    (plot_volume, [(T0, 5), (T0 + timedelta(hours=1), 9)]),
    (plot_sentiment, SENTIMENT),
    (plot_tiers, {"head": 2, "waist": 5, "tail": 30}),
    (plot_platforms, {"weibo": 120, "zhihu": 8, "forum": 3}),
])
def test_every_chart_returns_png_with_and_without_data(plot, data):
    assert _is_png(plot(data))
    assert _is_png(plot(type(data)()))


def test_png_decodes_to_the_figure_size(tmp_path):
    path = tmp_path / "v.png"
    path.write_bytes(plot_volume([(T0, 1)]))
    assert image.imread(path).shape[:2] == (400, 800)  # new_figure(8, 4) at 100 dpi


def test_volume_bars_are_the_counts(ax):
    plot_volume([(T0, 5), (T0 + timedelta(hours=1), 9)], ax=ax)
    assert [p.get_height() for p in ax.patches] == [5, 9]


def test_sentiment_stacks_counts_and_plots_net_on_a_second_axis(ax):
    plot_sentiment(SENTIMENT, ax=ax)
    heights = [p.get_height() for p in ax.patches]
    assert heights == [1, 0, 3, 1, 4, 0, 3, 0, 1]  # negative, neutral, positive series
    bottoms = [p.get_y() for p in ax.patches]
    assert bottoms[6:] == [2, 4, 3]  # positive sits on negative + neutral
    [twin] = [a for a in ax.figure.axes if a is not ax]
    net = list(twin.lines[0].get_ydata())
    assert net[0] == pytest.approx(0.5) and math.isnan(net[1]) and net[2] == pytest.approx(-0.5)


def test_tiers_keep_influence_order_and_platforms_sort_by_size(ax):
    plot_tiers({"tail": 30, "head": 2, "waist": 5}, ax=ax)
    # barh draws bottom-up; reversed, the labels read top-down: 头部, 腰部, 尾部.
    assert [t.get_text() for t in ax.get_yticklabels()][::-1] == ["头部", "腰部", "尾部"]
    fig = new_figure()
    ax2 = fig.add_subplot()
    plot_platforms({"zhihu": 8, "weibo": 120}, ax=ax2)
    assert [t.get_text() for t in ax2.get_yticklabels()][::-1] == ["微博", "知乎"]


# -- Chinese without a system font (issue: a fresh machine showed boxes and 85 warnings) -------
@pytest.fixture
def no_system_cjk(monkeypatch):
    """matplotlib as on a machine with no CJK font: none registered, none on disk."""
    import matplotlib
    from matplotlib import font_manager

    from scheduler.charts import base

    kept = [f for f in font_manager.fontManager.ttflist
            if not any(name in f.name for name in ("CJK", "WenQuanYi", "Hei", "Han", "PingFang"))]
    monkeypatch.setattr(font_manager.fontManager, "ttflist", kept)
    monkeypatch.setattr(font_manager, "findSystemFonts", lambda *a, **k: [])
    monkeypatch.setattr(font_manager.fontManager, "_findfont_cached",
                        font_manager.FontManager._findfont_cached.__get__(
                            font_manager.fontManager))
    font_manager.fontManager._findfont_cached.cache_clear()
    saved = dict(matplotlib.rcParams)
    base.setup_cjk_font.cache_clear()
    yield base
    base.setup_cjk_font.cache_clear()
    font_manager.fontManager._findfont_cached.cache_clear()
    matplotlib.rcParams.update(saved)


def test_the_bundled_font_renders_chinese_without_a_warning(no_system_cjk, recwarn):
    assert no_system_cjk.bundled_font_path(), "noto-cjk-sans-otc is a dependency"
    assert no_system_cjk.setup_cjk_font() == "Noto Sans CJK SC"
    # filterwarnings=error turns a missing glyph into a failure
    plot_platforms({"微博": 3, "知乎": 1})
    assert not [w for w in recwarn if "Glyph" in str(w.message)]


def test_a_system_font_missing_from_a_stale_cache_is_found(no_system_cjk, monkeypatch):
    bundled = no_system_cjk.bundled_font_path()
    monkeypatch.setattr(no_system_cjk, "bundled_font_path", lambda: None)
    from matplotlib import font_manager

    # the font file exists on disk, but matplotlib's cached list does not know it
    monkeypatch.setattr(font_manager, "findSystemFonts",
                        lambda *a, **k: ["/usr/share/fonts/x/DejaVuSans.ttf", bundled])
    assert no_system_cjk.setup_cjk_font() == "Noto Sans CJK SC"


def test_no_font_at_all_is_one_warning_naming_the_fix(no_system_cjk, monkeypatch, caplog):
    monkeypatch.setattr(no_system_cjk, "bundled_font_path", lambda: None)
    assert no_system_cjk.setup_cjk_font() is None
    assert "noto-cjk-sans-otc" in caplog.text and "fonts-noto-cjk" in caplog.text
