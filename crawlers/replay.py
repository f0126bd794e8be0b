"""The recorded-response server: serves real platform responses from fixture folders on loopback.

Each ``<fixtures>/<slug>/manifest.json`` maps real URLs to files::

    {"platform": "weibo", "routes": [{"url": "https://m.weibo.cn/api/comments/show?id=1",
      "file": "m.weibo.cn-api-comments-show.json", "status": 200,
      "content_type": "application/json; charset=utf-8", "origin": "recorded", "note": "…"}]}

A request for ``/HOST/PATH?Q`` is answered by the route whose host and path are equal and all of
whose query parameters the request carries (extra request parameters are ignored); the route with
the most parameters wins. Unknown routes get a 404 whose JSON body lists the host's known routes.
Used by the tests (tests/fixture_server.py) and by ``tingfeng demo``. Standard library only.
"""

from __future__ import annotations

import json
import logging
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from typing import Any
from urllib.parse import parse_qsl, urlsplit

__all__ = ["ReplayServer", "Route", "default_fixtures_dir", "load_routes", "main"]

log = logging.getLogger(__name__)


@dataclass
class Route:
    host: str
    path: str
    query: dict[str, str]
    file: Path
    method: str = "GET"
    status: int = 200
    content_type: str = "application/octet-stream"
    headers: dict[str, str] = field(default_factory=dict)
    origin: str = "recorded"

    @property
    def url(self) -> str:
        q = "&".join(f"{k}={v}" for k, v in self.query.items())
        return f"https://{self.host}{self.path}" + (f"?{q}" if q else "")


def load_routes(fixtures_dir: Path) -> list[Route]:
    """Every route of every ``manifest.json`` below ``fixtures_dir``.

    :raises ValueError: naming the manifest and route when a route's file is missing.
    """
    routes: list[Route] = []
    for manifest in sorted(Path(fixtures_dir).glob("*/manifest.json")):
        data = json.loads(manifest.read_text(encoding="utf-8"))
        for i, raw in enumerate(data.get("routes", [])):
            parts = urlsplit(raw["url"])
            path = manifest.parent / raw["file"]
            if not path.is_file():
                raise ValueError(
                    f"{manifest}: route {i} ({raw['url']}) names a missing file {path}"
                )
            routes.append(
                Route(
                    host=parts.netloc,
                    path=parts.path or "/",
                    query=dict(parse_qsl(parts.query, keep_blank_values=True)),
                    file=path,
                    method=raw.get("method", "GET").upper(),
                    status=int(raw.get("status", 200)),
                    content_type=raw.get("content_type", "application/octet-stream"),
                    headers=dict(raw.get("headers", {})),
                    origin=raw.get("origin", "recorded"),
                )
            )
    return routes


def _match(
    routes: list[Route], method: str, host: str, path: str, query: dict[str, str]
) -> Route | None:
    best: Route | None = None
    for route in routes:
        if route.method != method or route.host != host or route.path != path:
            continue
        if all(query.get(k) == v for k, v in route.query.items()):
            if best is None or len(route.query) > len(best.query):
                best = route
    return best


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"
    # Headers and body go out in two writes: with Nagle on, each kept-alive request waits for
    # the client's delayed ACK (~40 ms), which would swamp the injected latency.
    disable_nagle_algorithm = True

    def _serve(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)
        self.server.hits.append(f"{self.command} {self.path}")
        self.server.headers_seen.append({k.lower(): v for k, v in self.headers.items()})
        parts = urlsplit(self.path)
        segments = parts.path.lstrip("/").split("/", 1)
        host, path = segments[0], "/" + (segments[1] if len(segments) > 1 else "")
        query = dict(parse_qsl(parts.query, keep_blank_values=True))
        route = _match(self.server.routes, self.command, host, path, query)
        if route is None:
            known = [r.url for r in self.server.routes if r.host == host]
            body = json.dumps(
                {
                    "error": f"no fixture for {self.command} https://{host}{path}?{parts.query}",
                    "known_routes": known,
                },
                ensure_ascii=False,
                indent=1,
            ).encode("utf-8")
            self._send(404, "application/json; charset=utf-8", body, {})
            return
        self._send(route.status, route.content_type, route.file.read_bytes(), route.headers)

    def _send(self, status: int, ctype: str, body: bytes, headers: dict[str, str]) -> None:
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        for k, v in headers.items():
            # A Location given as a real URL is rebased onto this server, as a redirect would be.
            if k.lower() == "location" and v.startswith("https://"):
                v = self.server.base_url + "/" + v[len("https://") :]
            self.send_header(k, v)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    do_GET = do_POST = do_HEAD = _serve

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        log.debug("replay: " + format, *args)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    routes: list[Route]
    hits: list[str]
    headers_seen: list[dict[str, str]]
    base_url: str


class ReplayServer:
    """A loopback HTTP server on an ephemeral port serving the fixture manifests.

    >>> import tempfile; srv = ReplayServer(tempfile.mkdtemp()).start(); srv.base_url.startswith("http://127.0.0.1:")
    True
    >>> srv.stop()
    """

    def __init__(self, fixtures_dir: str | Path, host: str = "127.0.0.1", port: int = 0) -> None:
        self.fixtures_dir = Path(fixtures_dir)
        self._server = _Server((host, port), _Handler)
        self._server.routes = load_routes(self.fixtures_dir)
        self._server.hits = []
        self._server.headers_seen = []
        h, p = self._server.server_address[:2]
        host = h if isinstance(h, str) else h.decode()  # typeshed allows bytes; AF_INET gives str
        self._server.base_url = f"http://{host}:{p}"
        self._thread: threading.Thread | None = None

    @property
    def base_url(self) -> str:
        return self._server.base_url

    @property
    def routes(self) -> list[Route]:
        return self._server.routes

    @property
    def hits(self) -> list[str]:
        """Every request served so far, as ``"GET /host/path?q"``."""
        return self._server.hits

    @property
    def headers_seen(self) -> list[dict[str, str]]:
        """The request headers of every request served so far (lower-cased names)."""
        return self._server.headers_seen

    def url(self, real_url: str) -> str:
        from crawlers.baseurls import rebase

        return rebase(real_url, self.base_url)

    def start(self) -> ReplayServer:
        self._thread = threading.Thread(
            target=self._server.serve_forever, daemon=True, name="replay"
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> ReplayServer:
        return self.start()

    def __exit__(
        self, t: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


def default_fixtures_dir() -> Path | None:
    """``tests/fixtures`` of the source checkout this package runs from, if there is one."""
    candidate = Path(__file__).resolve().parent.parent / "tests" / "fixtures"
    return candidate if candidate.is_dir() else None


def main(argv: list[str] | None = None) -> None:
    """``python -m crawlers.replay [FIXTURES_DIR]``: serve the fixtures until interrupted."""
    import sys
    import time

    args = sys.argv[1:] if argv is None else argv
    folder = Path(args[0]) if args else default_fixtures_dir()
    if folder is None:
        sys.exit("usage: python -m crawlers.replay FIXTURES_DIR")
    srv = ReplayServer(folder).start()
    print(f"serving {len(srv.routes)} routes from {folder} at {srv.base_url}", flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        srv.stop()


if __name__ == "__main__":  # pragma: no cover
    main()
