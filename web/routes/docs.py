"""The API's OpenAPI schema and Swagger UI, behind login like everything else. Swagger UI's
files come from the fastapi-offline package (no CDN: the docs work with no internet); the
page's own start-up script is ``/static/docs.js`` (the CSP allows no inline script)."""

from __future__ import annotations

from importlib.resources import files
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Request
from starlette.responses import FileResponse, Response

from web.accounts import User
from web.auth import viewer
from web.render import render

__all__ = ["router"]

router = APIRouter()
ASSETS = {"swagger-ui-bundle.js": "text/javascript", "swagger-ui.css": "text/css"}


@router.get("/api/openapi.json", include_in_schema=False)
def openapi(request: Request, user: Annotated[User, Depends(viewer)]) -> dict[str, Any]:
    schema: dict[str, Any] = request.app.openapi()
    return schema


@router.get("/api/docs", include_in_schema=False)
def docs(request: Request, user: Annotated[User, Depends(viewer)]) -> Response:
    return render(request, "docs.html")


@router.get("/api/docs/assets/{name}", include_in_schema=False)
def docs_asset(name: str, user: Annotated[User, Depends(viewer)]) -> Response:
    if name not in ASSETS:
        raise HTTPException(404, "no such file")
    path = files("fastapi_offline") / "static" / name
    return FileResponse(str(path), media_type=ASSETS[name],
                        headers={"Cache-Control": "private, max-age=86400"})
