"""Forum pages whose declared charset lies are decoded from their bytes, not stored as mojibake."""

from __future__ import annotations

import pytest

from crawlers.spiders.forum.common import decode_html

TEXT = "品牌A的售后太差了，退款拖了一个月还没到账，客服一直推脱。"
PAGE = "<html><head>{meta}</head><body><div class='t_f'>{text}</div></body></html>"


def _page(meta: str, encoding: str) -> bytes:
    return PAGE.format(meta=meta, text=TEXT * 5).encode(encoding)


@pytest.mark.parametrize(("body", "content_type"), [
    (_page('<meta charset="utf-8">', "gbk"), "text/html; charset=utf-8"),   # GBK said UTF-8
    (_page('<meta charset="gbk">', "utf-8"), "text/html; charset=gbk"),     # UTF-8 said GBK
    (_page('<meta charset="gb2312">', "utf-8"), None),
    (_page("", "gb18030"), None),                                            # nothing declared
    (_page('<meta charset="utf-8">', "utf-8"), "text/html; charset=utf-8"),  # honest page
    (_page('<meta charset="gbk">', "gbk"), "text/html; charset=gbk"),
])
def test_mis_declared_pages_decode_to_the_real_text(body, content_type):
    text = decode_html(body, content_type)
    assert TEXT in text and "\ufffd" not in text
