"""THE configuration for every Tingfeng process: Scrapy settings plus Tingfeng's own.

Loaded by Scrapy (scrapy.cfg → crawlers.settings) and by the scheduler and CLI through
``crawlers.config.load_settings()``. Secrets and deployment values come from the environment
(``TINGFENG_*``, ``WEIBO_COOKIE``…), never from code. Every setting here has a row in the
README's settings table (tests/test_docs.py checks it).
"""

from __future__ import annotations

import json
import os
from pathlib import Path


def _data_dir() -> Path:
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "tingfeng"


def _env_json(name: str, default: object) -> object:
    raw = os.environ.get(name)
    return json.loads(raw) if raw else default


# --- Scrapy -------------------------------------------------------------------------------
BOT_NAME = "tingfeng"
SPIDER_MODULES = ["crawlers.spiders"]
NEWSPIDER_MODULE = "crawlers.spiders"
# Crawl responsibly by identifying yourself. Platforms that reject non-browser agents set their
# own USER_AGENT in the spider's custom_settings, with a comment saying why.
USER_AGENT = "Tingfeng/0.1 (+https://github.com/tingfeng-listening/tingfeng; social listening)"
ROBOTSTXT_OBEY = True
CONCURRENT_REQUESTS = 8
CONCURRENT_REQUESTS_PER_DOMAIN = 1
DOWNLOAD_DELAY = 2.0
RANDOMIZE_DOWNLOAD_DELAY = True
DOWNLOAD_TIMEOUT = 30
AUTOTHROTTLE_ENABLED = True
AUTOTHROTTLE_START_DELAY = 2.0
AUTOTHROTTLE_MAX_DELAY = 60.0
AUTOTHROTTLE_TARGET_CONCURRENCY = 1.0
RETRY_ENABLED = True
RETRY_TIMES = 3
COOKIES_ENABLED = True
TELNETCONSOLE_ENABLED = False
FEED_EXPORT_ENCODING = "utf-8"
LOG_LEVEL = os.environ.get("TINGFENG_LOG_LEVEL", "INFO")

DOWNLOADER_MIDDLEWARES = {
    # Before RetryMiddleware (550) sees the response: platform soft failures become our policy.
    "crawlers.middlewares.PlatformErrorMiddleware": 560,
}
ITEM_PIPELINES = {
    "crawlers.pipelines.ValidatePipeline": 100,
    "crawlers.pipelines.StorePipeline": 300,
}
LOGSTATS_INTERVAL = 15.0  # progress lines (pages/min, items/min) during long crawls

# --- Tingfeng: crawling -------------------------------------------------------------------
# Overrides a platform's hosts: {"weibo": "http://127.0.0.1:8080"} sends https://m.weibo.cn/x to
# http://127.0.0.1:8080/m.weibo.cn/x (how tests and the demo reach the recorded responses).
PLATFORM_BASE_URLS: dict[str, str] = _env_json("TINGFENG_BASE_URLS", {})  # type: ignore[assignment]
CRAWL_MAX_PAGES = int(os.environ.get("TINGFENG_MAX_PAGES", "10"))
# Consecutive rate-limit answers after which a crawl stops with reason "rate_limited".
CRAWL_RATE_LIMIT_MAX = 5
# Backoff for soft rate limits: delay = min(BASE * 2**n, MAX) seconds, n = retries so far.
CRAWL_BACKOFF_BASE = 5.0
CRAWL_BACKOFF_MAX = 300.0
# Secrets (environment or a config file read by the environment; never committed, never logged).
WEIBO_COOKIE = os.environ.get("WEIBO_COOKIE", "")
ZHIHU_COOKIE = os.environ.get("ZHIHU_COOKIE", "")
WECHAT_COOKIE = os.environ.get("WECHAT_COOKIE", "")
WECHAT_TOKEN = os.environ.get("WECHAT_TOKEN", "")
TIEBA_COOKIE = os.environ.get("TIEBA_COOKIE", "")

# --- Tingfeng: storage --------------------------------------------------------------------
STORE_URI = os.environ.get("TINGFENG_STORE", f"sqlite:///{_data_dir() / 'tingfeng.db'}")
STORE_BATCH_SIZE = 500
# Write attempts before a batch is spooled to disk (replayed on the next crawl: nothing is lost).
STORE_RETRIES = 3
STORE_SPOOL_DIR = os.environ.get("TINGFENG_SPOOL_DIR", str(_data_dir() / "spool"))
# Set by scheduler/runner.py so the runner can find this crawl's CrawlRun record.
CRAWL_RUN_ID = ""
