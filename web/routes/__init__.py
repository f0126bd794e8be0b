"""One module per page, each with its ``/api/`` twin: ``router`` in every module."""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from fastapi import APIRouter

__all__ = ["MODULES", "routers"]

MODULES = ("session", "monitors", "dashboard", "kol", "accounts", "cascades", "runs", "exports",
           "alerts", "posts", "admin", "docs")


def routers() -> list[APIRouter]:
    return [import_module(f"web.routes.{name}").router for name in MODULES]
