"""Loopback servers that answer like the chat platforms' robot APIs, as their documents give
them: WeCom ``/cgi-bin/webhook/send`` (errcode 0 / 93000 bad key / 45009 rate limit / 40058 too
long), DingTalk ``/robot/send`` (加签 checked: errcode 310000 on a bad signature or an old
timestamp, 410100 rate limit), Feishu ``/open-apis/bot/v2/hook/<id>`` (签名校验: code 19021,
11232 rate limit) and a generic webhook ``/hook`` (HMAC checked; 401 on a bad signature, 429
with Retry-After).

``server.mode`` switches every endpoint between "ok", "ratelimit", "5xx" and "timeout" (no
answer: the request is read and dropped, never recorded). ``server.received`` lists what was
accepted: (platform, decoded JSON body, headers).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

__all__ = ["ChatServer"]


class ChatServer:
    def __init__(self, *, wecom_keys: set[str] = frozenset(), ding_tokens: dict[str, str] | None
                 = None, feishu_hooks: dict[str, str | None] | None = None,
                 webhook_secret: str | None = None, hang: float = 1.0) -> None:
        self.wecom_keys = set(wecom_keys)
        self.ding_tokens = dict(ding_tokens or {})  # token -> secret ("" = no 加签)
        self.feishu_hooks = dict(feishu_hooks or {})  # hook id -> secret or None
        self.webhook_secret = webhook_secret
        self.hang = hang
        self.mode = "ok"
        self.received: list[tuple[str, dict[str, Any], dict[str, str]]] = []
        self.requests = 0
        self._lock = threading.Lock()
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._httpd.server_address[1]}"

    def __enter__(self) -> ChatServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    def bodies(self, platform: str) -> list[dict[str, Any]]:
        return [body for p, body, _ in self.received if p == platform]

    # -- the platforms -------------------------------------------------------------------------
    def answer(self, path: str, query: dict[str, str], body: dict[str, Any],
               headers: dict[str, str], raw: bytes) -> tuple[int, dict[str, Any], dict[str, str]]:
        if path == "/cgi-bin/webhook/send":
            return self._wecom(query, body, headers)
        if path == "/robot/send":
            return self._dingtalk(query, body, headers)
        if path.startswith("/open-apis/bot/v2/hook/"):
            return self._feishu(path.rsplit("/", 1)[1], body, headers)
        if path == "/hook":
            return self._webhook(body, headers, raw)
        return 404, {"error": "not found"}, {}

    def _accept(self, platform: str, body: dict[str, Any], headers: dict[str, str]) -> None:
        with self._lock:
            self.received.append((platform, body, headers))

    def _wecom(self, q: dict[str, str], body: dict[str, Any], h: dict[str, str]) -> Any:
        if q.get("key") not in self.wecom_keys:
            return 200, {"errcode": 93000, "errmsg": "invalid webhook url, hint: [x]"}, {}
        if self.mode == "ratelimit":
            return 200, {"errcode": 45009, "errmsg": "api freq out of limit"}, {}
        content = body.get("markdown", {}).get("content", "")
        if body.get("msgtype") != "markdown" or not content:
            return 200, {"errcode": 40008, "errmsg": "invalid message type"}, {}
        if len(content.encode("utf-8")) > 4096:
            return 200, {"errcode": 40058, "errmsg": "markdown.content exceed max length 4096"}, {}
        self._accept("wecom", body, h)
        return 200, {"errcode": 0, "errmsg": "ok"}, {}

    def _dingtalk(self, q: dict[str, str], body: dict[str, Any], h: dict[str, str]) -> Any:
        token = q.get("access_token", "")
        if token not in self.ding_tokens:
            return 200, {"errcode": 300001, "errmsg": "token is not exist"}, {}
        secret = self.ding_tokens[token]
        if secret:
            stamp = q.get("timestamp", "0")
            mac = hmac.new(secret.encode(), f"{stamp}\n{secret}".encode(), hashlib.sha256)
            fresh = abs(time.time() * 1000 - int(stamp or 0)) < 3600 * 1000
            if not fresh or q.get("sign") != base64.b64encode(mac.digest()).decode():
                return 200, {"errcode": 310000, "errmsg": "sign not match, more: [x]"}, {}
        if self.mode == "ratelimit":
            return 200, {"errcode": 410100,
                         "errmsg": "send too fast, exceed 20 times per minute"}, {}
        self._accept("dingtalk", body, h)
        return 200, {"errcode": 0, "errmsg": "ok"}, {}

    def _feishu(self, hook: str, body: dict[str, Any], h: dict[str, str]) -> Any:
        if hook not in self.feishu_hooks:
            return 200, {"code": 19001, "msg": "param invalid: incoming webhook access token "
                                                "invalid", "data": {}}, {}
        secret = self.feishu_hooks[hook]
        if secret:
            stamp = str(body.get("timestamp", "0"))
            mac = hmac.new(f"{stamp}\n{secret}".encode(), b"", hashlib.sha256)
            fresh = abs(time.time() - int(stamp or 0)) < 3600
            if not fresh or body.get("sign") != base64.b64encode(mac.digest()).decode():
                return 200, {"code": 19021, "msg": "sign match fail or timestamp is not within "
                                                   "one hour from current time", "data": {}}, {}
        if self.mode == "ratelimit":
            return 200, {"code": 11232, "msg": "frequency limited psm[lark.oapi.app_platform_"
                                               "runtime]appID[1]", "data": {}}, {}
        self._accept("feishu", body, h)
        return 200, {"StatusCode": 0, "StatusMessage": "success", "code": 0, "msg": "success",
                     "data": {}}, {}

    def _webhook(self, body: dict[str, Any], h: dict[str, str], raw: bytes) -> Any:
        if self.webhook_secret:
            stamp = h.get("x-tingfeng-timestamp", "")
            mac = hmac.new(self.webhook_secret.encode(), stamp.encode() + b"." + raw,
                           hashlib.sha256).hexdigest()
            if h.get("x-tingfeng-signature") != f"sha256={mac}":
                return 401, {"error": "bad signature"}, {}
        if self.mode == "ratelimit":
            return 429, {"error": "slow down"}, {"Retry-After": "120"}
        self._accept("webhook", body, h)
        return 200, {"ok": True}, {}

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                with server._lock:
                    server.requests += 1
                if server.mode == "timeout":
                    time.sleep(server.hang)  # never answers in time, never processes
                    self.close_connection = True
                    return
                if server.mode == "5xx":
                    self._reply(503 if server.requests % 2 else 500, {"error": "down"}, {})
                    return
                parts = urlsplit(self.path)
                query = {k: v[0] for k, v in parse_qs(parts.query).items()}
                try:
                    body = json.loads(raw.decode("utf-8"))
                except ValueError:
                    self._reply(400, {"errcode": 40001, "errmsg": "invalid json"}, {})
                    return
                headers = {k.lower(): v for k, v in self.headers.items()}
                self._reply(*server.answer(parts.path, query, body, headers, raw))

            def _reply(self, status: int, data: dict[str, Any], extra: dict[str, str]) -> None:
                payload = json.dumps(data).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                for k, v in extra.items():
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(payload)

        return Handler
