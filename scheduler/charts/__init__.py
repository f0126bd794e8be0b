"""All of Tingfeng's matplotlib: charts for alert emails and reports, returned as PNG bytes.

Only this package imports matplotlib. Functions draw on the Figure API (never pyplot, which leaks
figures in a long-running scheduler), take ``ax=None`` and return PNG bytes.
"""

from scheduler.charts.base import figure_png, new_figure, setup_cjk_font

__all__ = ["figure_png", "new_figure", "setup_cjk_font"]
