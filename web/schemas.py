"""Request bodies of the JSON API (pydantic models, so /api/docs documents them)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

__all__ = ["MonitorIn", "ReviewIn"]


class MonitorIn(BaseModel):
    """A monitor to create or replace. Give ``every`` ("30m", "2h") or ``cron``."""

    name: str = Field(max_length=64, examples=["品牌A"])
    query: str = Field(max_length=4000, examples=["品牌A AND (投诉 OR 退款) NOT 招聘"])
    platforms: list[str] = Field(examples=[["weibo", "zhihu"]])
    every: str | None = Field(default=None, examples=["30m"])
    cron: str | None = Field(default=None, examples=["0 */2 * * *"])
    recipients: list[str] = Field(default_factory=list,
                                  examples=[["pr@example.com", "wecom://${WECOM_KEY}"]])
    quiet_hours: str | None = Field(default=None, examples=["22:00-08:00"])
    paused: bool = False


class ReviewIn(BaseModel):
    """A reviewer's verdict on one alert."""

    alert_id: str = Field(max_length=300)
    verdict: Literal["confirmed", "false_alarm"]
    note: str = Field(default="", max_length=500)
