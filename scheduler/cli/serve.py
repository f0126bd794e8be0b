"""``tingfeng serve``: the web app (FastAPI under uvicorn) over the store, for several people
at once. Binds to loopback unless told otherwise; off loopback it wants HTTPS."""

from __future__ import annotations

import argparse
import ipaddress
import sys
from collections.abc import Callable
from typing import Any

__all__ = ["is_loopback", "register", "web_import"]

EPILOG = """\
examples:
  tingfeng user add li --role admin                  # first: someone to sign in as
  tingfeng serve                                      # http://127.0.0.1:8600
  tingfeng serve --port 8700 --store sqlite:///demo.db
  tingfeng serve --host 0.0.0.0 --ssl-certfile cert.pem --ssl-keyfile key.pem

Every page and API needs a login except /login and /healthz. Behind a reverse proxy that ends
HTTPS, keep the default loopback bind, set TINGFENG_WEB_BASE_URL=https://… (cookies become
Secure, HSTS is sent) and --forwarded-allow-ips to the proxy's address. Users live in WEB_DB
(TINGFENG_WEB_DB; default <data dir>/web.db), managed with `tingfeng user`."""


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "serve", help="run the web app (monitors, dashboards, alerts inbox, posts, API)",
        description="Run the web app: server-rendered pages and a JSON API over the store.",
        epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--host", default="127.0.0.1", help="address to bind (default: 127.0.0.1)")
    p.add_argument("--port", type=int, default=8600, help="port (default: 8600)")
    p.add_argument("--web-db", metavar="PATH", help="user database (default: WEB_DB)")
    p.add_argument("--ssl-certfile", metavar="PEM", help="serve HTTPS with this certificate")
    p.add_argument("--ssl-keyfile", metavar="PEM", help="the certificate's private key")
    p.add_argument("--forwarded-allow-ips", default="127.0.0.1", metavar="IPS",
                   help="proxies whose X-Forwarded-For/-Proto are trusted (default: 127.0.0.1)")
    p.set_defaults(func=cmd_serve)


def web_import(module: str) -> Any:
    """Import a ``web`` module, or say which package is missing (a partial install).

    :raises ConfigError: naming the missing module and the fix.
    """
    from importlib import import_module

    from crawlers.errors import ConfigError

    try:
        return import_module(module)
    except ModuleNotFoundError as exc:
        raise ConfigError(f"the web app needs the {exc.name!r} module, which is not installed: "
                          "reinstall Tingfeng (pip install -e .) so its dependencies come "
                          "along") from None


def is_loopback(host: str) -> bool:
    """Whether binding ``host`` keeps the app on this machine.

    >>> is_loopback("127.0.0.1"), is_loopback("localhost"), is_loopback("0.0.0.0")
    (True, True, False)
    """
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def cmd_serve(args: argparse.Namespace, run: Callable[..., Any] | None = None) -> int:
    from crawlers.errors import ConfigError
    from scheduler.cli.common import settings_for

    overrides = {"WEB_DB": args.web_db} if args.web_db else {}
    settings = settings_for(args, **overrides)
    if bool(args.ssl_certfile) != bool(args.ssl_keyfile):
        raise ConfigError("give both --ssl-certfile and --ssl-keyfile, or neither")
    https = bool(args.ssl_certfile) or str(settings.get("WEB_BASE_URL") or "").startswith(
        "https://")
    if not is_loopback(args.host) and not https:
        print(f"tingfeng: warning: serving on {args.host} over plain HTTP: passwords and session "
              "cookies cross the network unencrypted. Put an HTTPS reverse proxy in front (and "
              "set TINGFENG_WEB_BASE_URL=https://…) or pass --ssl-certfile/--ssl-keyfile.",
              file=sys.stderr)
    from scheduler.notify.mailers import mask_url

    app = web_import("web.app").create_app(settings)
    if not app.state.ctx.accounts.users():
        print("tingfeng: no users yet: create one with `tingfeng user add NAME --role admin`",
              file=sys.stderr)
    scheme = "https" if args.ssl_certfile else "http"
    shown = f"[{args.host}]" if ":" in args.host else args.host
    store = mask_url(str(settings.get("STORE_URI")))
    print(f"tingfeng: serving {store} on {scheme}://{shown}:{args.port} (Ctrl-C stops)",
          file=sys.stderr)
    if run is None:
        run = web_import("uvicorn").run
    run(app, host=args.host, port=args.port, ssl_certfile=args.ssl_certfile,
        ssl_keyfile=args.ssl_keyfile, proxy_headers=True,
        forwarded_allow_ips=args.forwarded_allow_ips, server_header=False,
        log_level="debug" if getattr(args, "verbose", False) else "info")
    return 0
