"""The report as a PDF, drawn with fpdf2 in the bundled Noto Sans CJK SC.

Why fpdf2: it is pure Python (its needs, fontTools and Pillow, come with matplotlib already),
so a fresh machine exports PDF offline with no system library, no browser and no apt step;
it embeds a subset of the OpenType/CFF collection ``noto-cjk-sans-otc`` ships (the face picked
by name), so Chinese renders as glyphs with a ToUnicode map (the text can be searched and
copied). WeasyPrint would need Pango from apt; printing the HTML with headless Chromium would
make a browser a runtime dependency. The layout follows the HTML report: title, window, cards,
the four charts, accounts, cascades, 为什么 tables; text is plain text, never markup.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from scheduler.analysis.appendix import Appendix
from scheduler.notify.wording import platform_name, tier_name
from scheduler.reports.render_table import clean

if TYPE_CHECKING:
    from fpdf import FPDF

    from scheduler.analysis.sections import Section
    from scheduler.i18n import Wording
    from web.exports.report import ReportData

__all__ = ["PdfUnavailable", "cjk_font", "render_pdf"]

FACE = "Noto Sans CJK SC"
_FAMILY = "cjk"
_GREY = (101, 109, 118)
_HEAD_FILL = (240, 244, 248)


def _(message: str) -> str:  # marks a reader string; translated where it is shown
    return message


class PdfUnavailable(RuntimeError):
    """PDF export cannot run here (fpdf2 or the CJK font is missing): the message says what
    to install."""


@lru_cache(maxsize=1)
def cjk_font() -> tuple[str, int]:
    """(path, index) of Noto Sans CJK SC in the bundled collection."""
    from fontTools.ttLib import TTCollection

    from scheduler.charts.base import bundled_font_path

    path = bundled_font_path()
    if path is None:
        raise PdfUnavailable(_("PDF 导出需要 noto-cjk-sans-otc 字体包：pip install -e . 即可安装"))
    with TTCollection(path, lazy=True) as collection:
        names = [f["name"].getDebugName(1) for f in collection.fonts]
    return path, names.index(FACE) if FACE in names else 0


def _text(value: Any, limit: int = 400) -> str:
    if value is None:
        return "—"
    if isinstance(value, float):
        return f"{value:,.3g}" if abs(value) < 1000 else f"{value:,.0f}"
    if isinstance(value, int):
        return f"{value:,}"
    text = clean(value)
    return text if len(text) <= limit else text[:limit - 1] + "…"


def _net(value: float | None) -> str:
    return "—" if value is None else f"{value:+.2f}"


class _Doc:
    def __init__(self, title: str, w: Wording) -> None:
        try:
            from fpdf import FPDF
        except ImportError as exc:
            raise PdfUnavailable(_("PDF 导出需要 fpdf2：pip install fpdf2")) from exc
        path, index = cjk_font()
        pdf: FPDF = FPDF(orientation="L", unit="mm", format="A4")
        pdf.add_font(_FAMILY, fname=path, collection_font_number=index)
        pdf.set_margins(12, 12, 12)
        pdf.set_auto_page_break(True, margin=12)
        pdf.set_title(title)
        pdf.set_lang("en" if w.lang == "en" else "zh-CN")
        pdf.set_creator("Tingfeng 听风")
        pdf.add_page()
        self.pdf, self.w = pdf, w

    def line(self, text: str, size: float = 10, grey: bool = False, height: float = 6) -> None:
        self.pdf.set_font(_FAMILY, size=size)
        self.pdf.set_text_color(*(_GREY if grey else (31, 35, 40)))
        from fpdf.enums import WrapMode

        self.pdf.multi_cell(0, height, text, new_x="LMARGIN", new_y="NEXT",
                            wrapmode=WrapMode.CHAR)
        self.pdf.set_text_color(31, 35, 40)

    def heading(self, text: str) -> None:
        if self.pdf.get_y() > self.pdf.page_break_trigger - 30:
            self.pdf.add_page()
        self.pdf.ln(3)
        self.line(text, size=14, height=8)

    def room(self, height: float) -> None:
        if self.pdf.get_y() + height > self.pdf.page_break_trigger:
            self.pdf.add_page()

    def image(self, png: bytes, width: float, x: float | None = None) -> float:
        """Draw ``png`` at ``width`` mm; returns its height."""
        from PIL import Image

        with Image.open(io.BytesIO(png)) as im:
            height = width * im.height / im.width
        self.pdf.image(io.BytesIO(png), x=x, y=self.pdf.get_y(), w=width, h=height)
        return height

    def table(self, headers: Sequence[str], rows: Sequence[Sequence[Any]],
              widths: Sequence[float] | None = None, size: float = 8) -> None:
        from fpdf import FontFace
        from fpdf.enums import WrapMode

        if not rows:
            self.line(self.w("（无数据）"), grey=True)
            return
        self.pdf.set_font(_FAMILY, size=size)
        with self.pdf.table(col_widths=widths or _widths(headers, rows), line_height=size * 0.55,
                            text_align="LEFT", wrapmode=WrapMode.CHAR, padding=1,
                            headings_style=FontFace(emphasis=None, fill_color=_HEAD_FILL),
                            repeat_headings=1) as table:
            for row in [headers, *rows]:
                cells = table.row()
                for value in row:
                    cells.cell(_text(value))


def _widths(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> list[float]:
    """Column shares from the longest text in each column (capped, so one long post does not
    squeeze every other column)."""
    out = []
    for i, head in enumerate(headers):
        longest = max([len(_text(head)), *(len(_text(r[i], 40)) for r in rows if i < len(r))])
        out.append(float(min(max(longest, 3), 40)))
    return out


def _cards(doc: _Doc, data: ReportData) -> None:
    r, w = data.report, doc.w
    cards = [(w("帖子"), _text(r.post_count)), (w("账号"), _text(r.author_count)),
             (w("净情感"), _net(r.net_sentiment)), (w("传播链"), _text(len(r.cascades)))]
    doc.line("    ".join(f"{label} {value}" for label, value in cards), size=12, height=8)


def _charts(doc: _Doc, data: ReportData) -> None:
    pngs = [data.charts[name] for name in ("volume", "sentiment", "tiers", "platforms")
            if data.charts.get(name)]
    if not pngs:
        return
    doc.heading(doc.w("话题走势"))
    width = (doc.pdf.epw - 6) / 2
    for i in range(0, len(pngs), 2):
        doc.room(width / 2 + 4)
        heights = [doc.image(png, width, x=doc.pdf.l_margin + j * (width + 6))
                   for j, png in enumerate(pngs[i:i + 2])]
        doc.pdf.set_y(doc.pdf.get_y() + max(heights) + 3)


def _accounts(doc: _Doc, data: ReportData, w: Wording) -> None:
    r = data.report
    doc.heading(w("关键账号 (前 {n})", n=len(r.accounts)))
    headers = ["#", *(w(h) for h in (_("平台"), _("账号"), _("层级"), _("粉丝"), _("帖子"),
                                     _("互动"), _("下游触达"), _("关键节点"), _("净情感"),
                                     _("首次出现")))]
    rows = [[i, platform_name(a.platform, w), a.name, tier_name(a.tier, w), a.followers,
             a.posts, a.engagement, a.reach, a.key_rank, _net(a.net_sentiment),
             w.time(a.first_seen)] for i, a in enumerate(r.accounts, 1)]
    doc.table(headers, rows, widths=[5, 10, 36, 10, 14, 9, 12, 12, 10, 10, 22])


def _cascades(doc: _Doc, data: ReportData, w: Wording) -> None:
    doc.heading(w("主要传播链"))
    if not data.report.cascades:
        doc.line(w("没有传播链"), grey=True)
    for c in data.report.cascades:
        doc.room(30)
        doc.line(f"{_text(c.author)} · {platform_name(c.platform, w)} · {w.time(c.created_at)}",
                 size=10)
        doc.line(_text(c.text, 300), size=9, grey=True, height=5)
        sv = "—" if c.structural_virality is None else f"{c.structural_virality:.2f}"
        doc.line(w("规模 {size} · 深度 {depth} · 最大宽度 {breadth} · 结构病毒性 {virality}",
                   size=format(c.size, ","), depth=format(c.depth, ","),
                   breadth=format(c.max_breadth, ","), virality=sv), size=9, height=5)
        if c.picture:
            doc.room(70)
            height = doc.image(c.picture, 100)
            doc.pdf.set_y(doc.pdf.get_y() + height + 2)


def _why(doc: _Doc, sections: Sequence[Section], w: Wording, title: str) -> None:
    doc.heading(title)
    for s in sections:
        doc.room(20)
        doc.line(s.title, size=11, height=7)
        doc.table(s.columns, s.rows)
        for note in s.notes:
            doc.line(_text(note), size=8, grey=True, height=5)


def render_pdf(data: ReportData, w: Wording) -> bytes:
    """The PDF as bytes. :raises PdfUnavailable: without fpdf2 or the bundled font."""
    r = data.report
    title = f"{r.title} · {clean(r.topic)}"
    doc = _Doc(title, w)
    doc.line(title, size=20, height=10)
    window = w.window(r.since, r.until) if r.since else w("全部 – {end}", end=w.time(r.until))
    doc.line(w("{window} · 生成于 {time}", window=window, time=w.time(r.generated_at)),
             grey=True)
    _cards(doc, data)
    _charts(doc, data)
    _accounts(doc, data, w)
    _cascades(doc, data, w)
    for title, sections in Appendix(data.why, data.influence).parts(w):
        _why(doc, sections, w, title)
    for note in r.notes:
        doc.line(w.label(w("注"), _text(note)), size=8, grey=True, height=5)
    return bytes(doc.pdf.output())
