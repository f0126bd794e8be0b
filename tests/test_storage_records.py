"""The text rule every backend applies on upsert (crawlers.storage._records.keeps_stored_text),
case by case; the backends are held to it by tests/test_storage_contract.py."""

from __future__ import annotations

import pytest

from crawlers.storage._records import keeps_stored_text, merge_docs

FULL = "据报道，新规将于下月实施，细则另行公布。"


@pytest.mark.parametrize("stored, incoming, keep", [
    # truncated copies of the stored text: kept
    (FULL, FULL[:8] + "...全文", True),
    (FULL, FULL[:8] + "…", True),
    (FULL, FULL[:8] + "… 展开全文", True),
    (FULL, FULL[:8] + "⋯⋯阅读全文", True),
    (FULL, FULL[:8], True),  # a shorter prefix, unmarked
    (FULL, FULL + "...", True),  # the same words, marked as cut: the unmarked one is full
    (FULL[:8] + "…", FULL[:5] + "…", True),  # a shorter snippet of a snippet
    # better or different texts: they win
    (FULL[:8] + "...全文", FULL, False),  # the full text over its snippet
    ("就一句话…", "就一句话", False),  # the same words, only the stored one marked
    (FULL, FULL.replace("下月", "明年"), False),  # an edit
    (FULL, "更正：", False),  # shorter but not a prefix
    (FULL[:8], FULL, False),  # longer
    # mojibake: more U+FFFD and no longer
    ("天气很好", "天气\ufffd\ufffd", True),
    ("天气很好", "天气很\ufffd", True),
    ("天气\ufffd好", "天气\ufffd\ufffd", True),
    ("天气\ufffd\ufffd", "天气很好", False),  # the clean one wins
    ("天气很好", "天气很好，\ufffd明天下雨", False),  # longer: more text despite one bad character
    # nothing to decide
    (FULL, FULL, False),
    (FULL, "", False),
    (FULL, None, False),
    (None, FULL, False),
    ("", FULL, False),
])
def test_keeps_stored_text(stored, incoming, keep):
    assert keeps_stored_text(stored, incoming) is keep


def test_merge_docs_applies_the_rule_and_merges_the_rest():
    merged = merge_docs({"text": FULL, "like_count": 1}, {"text": FULL[:6] + "…", "like_count": 5})
    assert merged == {"text": FULL, "like_count": 5}
    assert merge_docs({"text": "旧"}, {"text": "新"})["text"] == "新"
