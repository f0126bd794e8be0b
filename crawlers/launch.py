"""Start one crawl from a spec file: ``TINGFENG_CRAWL_SPEC=/path/spec.json python -m
crawlers.launch``.

The runner writes the spider's arguments and the forwarded settings into a private file (mode
0600) instead of the command line, where a long keyword list fails ("Argument list too long")
and where every local user can read them in ``ps``. The spec is JSON::

    {"platform": "weibo", "args": {"keywords": "品牌A", …}, "settings": {"STORE_URI": …}}

Equivalent to ``scrapy crawl <platform> -a k=v … -s K=V …``, and exits 1 like it when the crawl
could not start.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

__all__ = ["SPEC_ENV", "main", "read_spec"]

SPEC_ENV = "TINGFENG_CRAWL_SPEC"


def read_spec(path: str | os.PathLike[str]) -> dict[str, Any]:
    """The spec at ``path``; a clear SystemExit when it is missing or not a crawl spec."""
    try:
        spec = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise SystemExit(f"tingfeng: cannot read the crawl spec {path}: {exc}") from None
    if not isinstance(spec, dict) or not isinstance(spec.get("platform"), str):
        raise SystemExit(f"tingfeng: {path} is not a crawl spec (no platform)")
    return spec


def main() -> int:
    path = os.environ.get(SPEC_ENV)
    if not path:
        raise SystemExit(f"tingfeng: set {SPEC_ENV} to a crawl spec file (the runner does)")
    spec = read_spec(path)
    os.environ.setdefault("SCRAPY_SETTINGS_MODULE", "crawlers.settings")
    from scrapy.crawler import CrawlerProcess
    from scrapy.utils.project import get_project_settings

    settings = get_project_settings()
    for key, value in (spec.get("settings") or {}).items():
        settings.set(key, value, priority="cmdline")
    args = {k: str(v) for k, v in (spec.get("args") or {}).items() if v not in (None, "")}
    process = CrawlerProcess(settings)
    process.crawl(spec["platform"], **args)
    process.start()
    return 1 if getattr(process, "bootstrap_failed", False) else 0


if __name__ == "__main__":
    sys.exit(main())
