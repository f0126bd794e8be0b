"""Chat and webhook channels for alerts: WeCom (企业微信) group robots, DingTalk (钉钉) custom
robots, Feishu/Lark (飞书) bots and a generic signed JSON webhook, each sending an
:class:`~scheduler.notify.card.AlertCard` in its native markdown or card format.

A monitor names its recipients as URIs::

    pr@example.com                               email (through MAIL_URL)
    wecom://${WECOM_KEY}                         企业微信群机器人 (key of the webhook URL)
    dingtalk://${DING_TOKEN}?secret=${DING_SEC}  钉钉自定义机器人 (加签 when secret is given)
    feishu://${FEISHU_HOOK}?secret=${FS_SEC}     飞书机器人 (签名校验 when secret is given)
    lark://${LARK_HOOK}?secret=${LARK_SEC}       Lark (open.larksuite.com)
    https://hooks.example.com/x#secret=${HOOK_SECRET}   JSON webhook, HMAC-SHA256 signed

Keys, tokens and secrets are never written literally: ``${NAME}`` is read from the environment,
then from the settings (config file), when a message is sent. So a monitor's stored recipients,
``monitor export`` and the logs hold only names. A channel confirms delivery only with its API's
own success code (``errcode``/``code`` 0, a 2xx for webhooks); anything else raises
:class:`ChannelError`, marked retryable with the wait the platform asked for.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, ClassVar
from urllib.parse import parse_qsl, quote, urlsplit

import httpx

from crawlers.errors import ConfigError
from crawlers.redact import install as install_redaction
from crawlers.redact import register_secrets
from scheduler.notify.card import AlertCard

__all__ = [
    "CHANNEL_SCHEMES",
    "Channel",
    "ChannelError",
    "DingTalkChannel",
    "FeishuChannel",
    "WebhookChannel",
    "WecomChannel",
    "channel_id",
    "check_recipient",
    "is_email",
    "md_escape",
    "open_channel",
]

CHANNEL_SCHEMES = ("wecom", "dingtalk", "feishu", "lark", "https", "http")
_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
# Markdown and tag syntax of the three chat dialects, replaced by full-width lookalikes that read
# naturally in Chinese: crawled text cannot add links, mentions (<@all>, <at>), fonts or headings.
_MD = str.maketrans({"[": "［", "]": "］", "(": "（", ")": "）", "*": "＊", "_": "＿",
                     "`": "｀", "#": "＃", "<": "＜", ">": "＞", "~": "～", "|": "｜",
                     "\\": "＼", "!": "！", "@": "＠"})
_CONTROLS = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]+")
DEFAULT_BASES = {"wecom": "https://qyapi.weixin.qq.com", "dingtalk": "https://oapi.dingtalk.com",
                 "feishu": "https://open.feishu.cn", "lark": "https://open.larksuite.com"}
_BASE_SETTINGS = {"wecom": "WECOM_API_BASE", "dingtalk": "DINGTALK_API_BASE",
                  "feishu": "FEISHU_API_BASE", "lark": "LARK_API_BASE"}


class ChannelError(Exception):
    """A send the channel did not confirm. ``retry_after`` is the wait the platform asked for
    (rate limits), ``config`` marks errors a person must fix (bad key or signature): both are
    retried — nothing is dropped — but config errors are logged as errors with the fix."""

    def __init__(self, message: str, *, retry_after: float | None = None,
                 config: bool = False) -> None:
        super().__init__(message)
        self.retry_after = retry_after
        self.config = config


def md_escape(text: str) -> str:
    """Crawled text made inert in chat markdown: no links, mentions, tags or line breaks.

    >>> md_escape("[点我](javascript:x) <@all> **粗**\\n第二行")
    '［点我］（javascript:x） ＜＠all＞ ＊＊粗＊＊ 第二行'
    """
    return " ".join(_CONTROLS.sub(" ", text).translate(_MD).split())


def _md_url(url: str) -> str:
    return quote(url, safe=":/?&=%#+,;~-._!$'*@")  # parentheses and spaces cannot end the link


def is_email(recipient: str) -> bool:
    """True for an address (``a@b.cn`` or ``mailto:a@b.cn``), False for a channel URI."""
    text = recipient.strip()
    return text.lower().startswith("mailto:") or ("@" in text and "://" not in text)


def channel_id(recipient: str) -> str:
    """A stable, secret-free name for a recipient: its kind and a digest of the URI as written
    (with ``${NAME}`` references, not their values).

    >>> channel_id("wecom://${WECOM_KEY}")[:6]
    'wecom:'
    """
    kind = "mail" if is_email(recipient) else urlsplit(recipient.strip()).scheme.lower()
    kind = "webhook" if kind in ("http", "https") else kind
    digest = hashlib.sha256(recipient.strip().encode("utf-8")).hexdigest()[:10]
    return f"{kind}:{digest}"


def check_recipient(recipient: str) -> str:
    """``recipient`` if it is an email address or a channel URI whose secrets are ``${NAME}``
    references; else a ConfigError saying how to write it.

    >>> check_recipient("dingtalk://${DING_TOKEN}?secret=${DING_SECRET}")
    'dingtalk://${DING_TOKEN}?secret=${DING_SECRET}'
    >>> check_recipient("wecom://693a91f6-7xxx")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    crawlers.errors.ConfigError: wecom recipient holds a literal key: ... wecom://${WECOM_KEY}
    """
    text = recipient.strip()
    if is_email(text):
        return text
    parts = urlsplit(text)
    scheme = parts.scheme.lower()
    if scheme not in CHANNEL_SCHEMES:
        raise ConfigError(f"unknown recipient {text!r}: use an email address or one of "
                          "wecom://, dingtalk://, feishu://, lark://, https://")
    if scheme in ("http", "https"):
        if not parts.hostname:
            raise ConfigError(f"webhook recipient {text!r} has no host")
        secret = dict(parse_qsl(parts.fragment)).get("secret")
        if secret is not None and not _REF.fullmatch(secret):
            raise ConfigError("webhook secret is literal: write https://…#secret=${HOOK_SECRET}"
                              " and keep the secret in the environment or the config file")
        return text
    token = text.split("://", 1)[1].split("?", 1)[0]
    upper = {"wecom": "WECOM_KEY", "dingtalk": "DINGTALK_TOKEN", "feishu": "FEISHU_HOOK",
             "lark": "LARK_HOOK"}[scheme]
    what = "key" if scheme == "wecom" else "token"
    if not _REF.fullmatch(token):
        raise ConfigError(f"{scheme} recipient holds a literal {what}: keep it in an environment "
                          f"variable or the config file and write {scheme}://${{{upper}}}")
    secret = dict(parse_qsl(parts.query)).get("secret")
    if secret is not None and not _REF.fullmatch(secret):
        raise ConfigError(f"{scheme} secret is literal: write ?secret=${{{scheme.upper()}_SECRET}}"
                          " and keep it in the environment or the config file")
    return text


def _resolve(text: str, lookup: Callable[[str], Any]) -> str:
    def value(m: re.Match[str]) -> str:
        found = lookup(m.group(1))
        if found in (None, ""):
            raise ChannelError(f"{m.group(1)} is not set: export it or put it in the config file",
                               config=True)
        register_secrets([str(found)])  # masked in every later log line (httpx logs URLs)
        return str(found)
    return _REF.sub(value, text)


class _Pace:
    """Per-channel spacing across threads of this process (each platform's documented limit)."""

    _lock = threading.Lock()
    _next: ClassVar[dict[str, float]] = {}

    @classmethod
    def wait(cls, key: str, interval: float) -> None:
        with cls._lock:
            now = time.monotonic()
            at = max(now, cls._next.get(key, 0.0))
            cls._next[key] = at + interval
        if at > now:
            time.sleep(at - now)


@dataclass
class Channel:
    """One chat or webhook recipient. ``send`` raises ChannelError unless the API confirmed."""

    recipient: str
    settings: Mapping[str, Any]
    client: httpx.Client
    kind: ClassVar[str] = "webhook"
    interval: ClassVar[float] = 0.0  # seconds between messages to one robot

    @property
    def id(self) -> str:
        return channel_id(self.recipient)

    def _lookup(self, name: str) -> Any:
        import os

        return os.environ.get(name) or self.settings.get(name)

    def _target(self) -> tuple[str, dict[str, str]]:
        rest = self.recipient.strip().split("://", 1)[1]
        token, _, query = rest.partition("?")
        params = {k: _resolve(v, self._lookup) for k, v in parse_qsl(query)}
        return _resolve(token, self._lookup), params

    def _base(self) -> str:
        name = _BASE_SETTINGS.get(self.kind, "")
        return str(self.settings.get(name) or DEFAULT_BASES[self.kind]).rstrip("/")

    def _post(self, url: str, body: Mapping[str, Any] | bytes,
              headers: Mapping[str, str] | None = None) -> httpx.Response:
        pace = self.settings.get("CHANNEL_PACE")
        _Pace.wait(self.id, self.interval * (1.0 if pace in (None, "") else float(pace)))
        content = body if isinstance(body, bytes) else json.dumps(
            body, ensure_ascii=False).encode("utf-8")
        try:
            return self.client.post(url, content=content, headers={
                "Content-Type": "application/json; charset=utf-8", **(headers or {})})
        except httpx.TimeoutException:
            raise ChannelError(f"{self.kind}: no answer (timeout)") from None
        except httpx.HTTPError as exc:
            raise ChannelError(f"{self.kind}: {type(exc).__name__}") from None

    def _json(self, response: httpx.Response) -> dict[str, Any]:
        if response.status_code == 429:
            raise ChannelError(f"{self.kind}: HTTP 429 rate limited",
                               retry_after=_retry_after(response, 60.0))
        if response.status_code >= 400:
            raise ChannelError(f"{self.kind}: HTTP {response.status_code}",
                               retry_after=_retry_after(response, None))
        try:
            data = response.json()
        except ValueError:
            raise ChannelError(f"{self.kind}: answer is not JSON (HTTP "
                               f"{response.status_code})") from None
        if not isinstance(data, dict):
            raise ChannelError(f"{self.kind}: unexpected answer")
        return data

    def send(self, card: AlertCard) -> None:  # pragma: no cover - overridden
        raise NotImplementedError


def _retry_after(response: httpx.Response, default: float | None) -> float | None:
    raw = response.headers.get("Retry-After")
    try:
        return max(0.0, float(raw)) if raw is not None else default
    except ValueError:
        return default


def _lines(card: AlertCard, colour: Callable[[str], str], *, limit: int) -> str:
    """The card as chat markdown (WeCom / DingTalk dialect), at most ``limit`` UTF-8 bytes."""
    w = card.words
    title = w("【{level}】{title}", level=_level(card), title=card.title)
    monitor_label, time_label = md_escape(w("监测")), md_escape(w("时间"))
    head = [f"## {colour(md_escape(title))}",
            w.label(f"**{monitor_label}**", md_escape(card.monitor)),
            w.label(f"**{time_label}**", w.window(card.window_start, card.window_end)), ""]
    head += [md_escape(s) for s in card.summary]
    if card.reasons:
        head += ["", f"**{md_escape(w('原因'))}**"] + [f"- {md_escape(r)}" for r in card.reasons]
    step_label = f"**{md_escape(w('下一步'))}**"
    tail = [""] + [w.label(step_label, md_escape(s)) for s in card.next_steps]
    tail += [f"[{md_escape(label)}]({_md_url(url)})" for label, url in card.links.items()]
    posts = []
    for p in card.posts:
        link = f" [{md_escape(w('原文'))}]({_md_url(p.url)})" if p.url else ""
        posts.append(f"> {md_escape(p.text)}\n> —— {md_escape(p.author)} · "
                     f"{md_escape(_platform(p.platform, card))} · {w.time(p.created_at)}{link}")
    body = "\n".join(head)
    while True:
        section = (["", f"**{md_escape(w('重点帖子'))}**", *posts] if posts else [])
        text = "\n".join([body, *section, *tail])
        if len(text.encode("utf-8")) <= limit or not posts:
            return text if len(text.encode("utf-8")) <= limit else _cut(text, limit)
        posts.pop()


def _cut(text: str, limit: int) -> str:
    data = text.encode("utf-8")[: limit - 3]
    return data.decode("utf-8", "ignore") + "…"


def _level(card: AlertCard) -> str:
    from scheduler.notify.wording import severity_name

    return severity_name(card.severity, card.words)


def _platform(platform: str, card: AlertCard) -> str:
    from scheduler.notify.wording import platform_name

    return platform_name(platform, card.words)


class WecomChannel(Channel):
    """企业微信群机器人: POST /cgi-bin/webhook/send?key=…, markdown ≤ 4096 bytes, 20 per minute.
    Confirmed by ``errcode`` 0; 45009 is the rate limit, 93000 an invalid key."""

    kind = "wecom"
    interval = 3.0

    def send(self, card: AlertCard) -> None:
        key, _ = self._target()
        tone = card.colours[1]
        text = _lines(card, lambda s: f'<font color="{tone}">{s}</font>', limit=4096)
        data = self._json(self._post(f"{self._base()}/cgi-bin/webhook/send?key={quote(key)}",
                                     {"msgtype": "markdown", "markdown": {"content": text}}))
        code = data.get("errcode")
        if code == 0:
            return
        message = f"wecom errcode {code}: {_errmsg(data.get('errmsg'))}"
        if code == 45009:
            raise ChannelError(message, retry_after=60.0)
        raise ChannelError(message, config=code in (93000, 40008, 40058))


class DingTalkChannel(Channel):
    """钉钉自定义机器人: POST /robot/send?access_token=…, markdown, 20 per minute; 加签 adds
    ``timestamp`` (ms) and ``sign`` = Base64(HMAC-SHA256(secret, "timestamp\\nsecret")).
    Confirmed by ``errcode`` 0; 410100 and 130101 are rate limits, 310000 a failed
    signature, keyword or IP check."""

    kind = "dingtalk"
    interval = 3.0

    def send(self, card: AlertCard) -> None:
        token, params = self._target()
        url = f"{self._base()}/robot/send?access_token={quote(token)}"
        if params.get("secret"):
            stamp = str(int(time.time() * 1000))
            url += f"&timestamp={stamp}&sign={quote(dingtalk_sign(params['secret'], stamp))}"
        text = _lines(card, lambda s: f'<font color="{card.colours[0]}">{s}</font>', limit=18000)
        title = f"{_level(card)} {card.monitor} {card.title}"[:60]
        data = self._json(self._post(url, {"msgtype": "markdown",
                                           "markdown": {"title": title, "text": text}}))
        code = data.get("errcode")
        if code == 0:
            return
        message = f"dingtalk errcode {code}: {_errmsg(data.get('errmsg'))}"
        if code in (410100, 130101):
            raise ChannelError(message, retry_after=60.0)
        raise ChannelError(message, config=code in (310000, 300001, 400102))


def dingtalk_sign(secret: str, timestamp: str) -> str:
    """DingTalk's 加签: Base64(HMAC-SHA256(key=secret, msg="timestamp\\nsecret"))."""
    digest = hmac.new(secret.encode(), f"{timestamp}\n{secret}".encode(), hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def feishu_sign(secret: str, timestamp: str) -> str:
    """Feishu's 签名校验: Base64(HMAC-SHA256(key="timestamp\\nsecret", msg=b""))."""
    digest = hmac.new(f"{timestamp}\n{secret}".encode(), b"", hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


class FeishuChannel(Channel):
    """飞书/Lark 机器人: POST /open-apis/bot/v2/hook/…, an interactive card whose header colour
    is the severity; 100 per minute and 5 per second. Confirmed by ``code`` 0 (``StatusCode``
    0 in older answers); 11232 is the rate limit, 19021 a failed signature."""

    kind = "feishu"
    interval = 0.6

    def send(self, card: AlertCard) -> None:
        hook, params = self._target()
        body: dict[str, Any] = {"msg_type": "interactive", "card": feishu_card(card)}
        if params.get("secret"):
            stamp = str(int(time.time()))
            body.update(timestamp=stamp, sign=feishu_sign(params["secret"], stamp))
        data = self._json(self._post(f"{self._base()}/open-apis/bot/v2/hook/{quote(hook)}", body))
        code = data.get("code", data.get("StatusCode"))
        if code == 0:
            return
        reason = _errmsg(data.get("msg") or data.get("StatusMessage"))
        message = f"{self.kind} code {code}: {reason}"
        if code == 11232:
            raise ChannelError(message, retry_after=60.0)
        raise ChannelError(message, config=code in (19021, 19022, 19024, 19001))


class LarkChannel(FeishuChannel):
    kind = "lark"


def feishu_card(card: AlertCard) -> dict[str, Any]:
    """The Feishu interactive card (header template = severity colour, lark_md elements)."""
    w = card.words
    md = "\n".join(md_escape(s) for s in card.summary)
    elements: list[dict[str, Any]] = [
        {"tag": "div", "text": {"tag": "lark_md", "content": md}},
        {"tag": "div", "text": {"tag": "lark_md", "content": w.label(
            "**" + w("时间") + "**", w.window(card.window_start, card.window_end))}},
    ]
    if card.reasons:
        elements.append({"tag": "div", "text": {"tag": "lark_md", "content": f"**{w('原因')}**\n"
                         + "\n".join(f"- {md_escape(r)}" for r in card.reasons)}})
    if card.posts:
        lines = []
        for p in card.posts:
            link = f" [{w('原文')}]({_md_url(p.url)})" if p.url else ""
            lines.append(f"- {md_escape(p.text)}\n  —— {md_escape(p.author)} · "
                         f"{_platform(p.platform, card)} · {w.time(p.created_at)}{link}")
        elements += [{"tag": "hr"}, {"tag": "div", "text": {
            "tag": "lark_md", "content": f"**{w('重点帖子')}**\n" + "\n".join(lines)}}]
    elements.append({"tag": "div", "text": {"tag": "lark_md", "content": "\n".join(
        w.label("**" + w("下一步") + "**", md_escape(s)) for s in card.next_steps)}})
    if card.links:
        elements.append({"tag": "action", "actions": [
            {"tag": "button", "text": {"tag": "plain_text", "content": label},
             "url": url, "type": "primary" if i == 0 else "default"}
            for i, (label, url) in enumerate(card.links.items())]})
    elements.append({"tag": "note", "elements": [{"tag": "plain_text", "content": w(
        "预警编号：{ids}", ids=" ".join(card.alert_ids))}]})
    return {
        "config": {"wide_screen_mode": True},
        "header": {"template": card.colours[2], "title": {
            "tag": "plain_text",
            "content": f"【{_level(card)}】{card.monitor} · {card.title}"[:100]}},
        "elements": elements,
    }


class WebhookChannel(Channel):
    """A generic JSON webhook: POST :meth:`AlertCard.as_json` with headers
    ``X-Tingfeng-Timestamp`` (seconds), ``X-Tingfeng-Signature: sha256=<hex HMAC-SHA256(secret,
    "timestamp." + body)>`` when a secret is set, and ``Idempotency-Key`` (same for a retry of
    the same alerts, so a receiver can drop a repeat). Confirmed by any 2xx; 429 and 503
    honour ``Retry-After``."""

    kind = "webhook"

    def send(self, card: AlertCard) -> None:
        url, _, fragment = self.recipient.strip().partition("#")
        secret_ref = dict(parse_qsl(fragment)).get("secret")
        body = json.dumps(card.as_json(), ensure_ascii=False, sort_keys=True).encode("utf-8")
        stamp = str(int(time.time()))
        headers = {"X-Tingfeng-Timestamp": stamp, "User-Agent": "Tingfeng-Alerts/1",
                   "Idempotency-Key": hashlib.sha256(
                       "|".join(card.alert_ids).encode()).hexdigest()[:32]}
        if secret_ref:
            secret = _resolve(secret_ref, self._lookup)
            mac = hmac.new(secret.encode(), stamp.encode() + b"." + body, hashlib.sha256)
            headers["X-Tingfeng-Signature"] = f"sha256={mac.hexdigest()}"
        response = self._post(url, body, headers)
        if 200 <= response.status_code < 300:
            return
        wait = _retry_after(response, 60.0 if response.status_code == 429 else None)
        raise ChannelError(f"webhook: HTTP {response.status_code}", retry_after=wait,
                           config=response.status_code in (401, 403, 404))


def webhook_signature(secret: str, timestamp: str, body: bytes) -> str:
    """What a receiver compares with ``X-Tingfeng-Signature`` (documented for integrators)."""
    return "sha256=" + hmac.new(secret.encode(), timestamp.encode() + b"." + body,
                                hashlib.sha256).hexdigest()


def _errmsg(value: Any) -> str:
    from crawlers.redact import redact

    return redact(str(value or ""))[:200]


_CLASSES: dict[str, type[Channel]] = {"wecom": WecomChannel, "dingtalk": DingTalkChannel,
                                      "feishu": FeishuChannel, "lark": LarkChannel,
                                      "https": WebhookChannel, "http": WebhookChannel}


def open_channel(recipient: str, settings: Mapping[str, Any], client: httpx.Client) -> Channel:
    """The channel for a (checked) chat or webhook recipient URI."""
    scheme = urlsplit(check_recipient(recipient)).scheme.lower()
    install_redaction()
    return _CLASSES[scheme](recipient.strip(), settings, client)
