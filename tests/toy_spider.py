"""A minimal platform used to test the shared crawl machinery (middleware policy, pipelines,
spooling, run records) independently of any real platform. Run with ``scrapy runspider``."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from datetime import datetime, timedelta
from typing import Any

from crawlers.errors import Blocked, LoginRequired, RateLimited, UnexpectedPayload
from crawlers.items import Author, Post
from crawlers.spiders.base import PlatformSpider

PLATFORM = "toy"


def check_response(status: int, body: bytes, url: str) -> None:
    if status == 432:
        raise Blocked("HTTP 432", platform=PLATFORM, url=url)
    try:
        payload = json.loads(body)
    except ValueError:
        raise UnexpectedPayload("not JSON", platform=PLATFORM, url=url) from None
    if payload.get("error") == "rate":
        raise RateLimited("slow down", platform=PLATFORM, url=url)
    if payload.get("error") == "login":
        raise LoginRequired("login wall", platform=PLATFORM, url=url)


def parse_page(payload: dict[str, Any], *, now: datetime) -> list[Post | Author]:
    out: list[Post | Author] = []
    for row in payload["items"]:
        out.append(
            Post(
                PLATFORM,
                str(row["id"]),
                text=row["text"],
                author_id=str(row["uid"]),
                created_at=now - timedelta(minutes=int(row["age_min"])),
            )
        )
        out.append(Author(PLATFORM, str(row["uid"]), name=f"user{row['uid']}"))
    return out


class ToySpider(PlatformSpider):
    name = PLATFORM
    checker = staticmethod(check_response)

    async def start(self) -> AsyncIterator[Any]:
        for kw in self.keywords:
            yield self.api_request(
                f"https://toy.example/list?q={kw}&page=1",
                self.parse_list,
                cb_kwargs={"kw": kw, "page": 1},
            )

    def parse_list(self, response: Any, kw: str, page: int) -> Iterator[Any]:
        items = self.parse_safely(response, parse_page, response.json(), now=self.now)
        yield from items
        if items and page < self.max_pages:
            yield self.api_request(
                f"https://toy.example/list?q={kw}&page={page + 1}",
                self.parse_list,
                cb_kwargs={"kw": kw, "page": page + 1},
            )
