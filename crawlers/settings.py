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
DOWNLOAD_TIMEOUT = 30
AUTOTHROTTLE_ENABLED = True
AUTOTHROTTLE_START_DELAY = 2.0
AUTOTHROTTLE_MAX_DELAY = 60.0
AUTOTHROTTLE_TARGET_CONCURRENCY = 1.0
RETRY_ENABLED = True
RETRY_TIMES = 3
COOKIES_ENABLED = True
# No remote control of a crawl: the telnet console and Scrapy 2.19's HTTP remote-control server
# (code execution; its token sits in a file any local process of the user can read) both hand
# the crawl's settings, cookies included, to whoever connects. Also switched off in EXTENSIONS.
TELNETCONSOLE_ENABLED = False
REMOTE_CONTROL_ENABLED = False
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
EXTENSIONS = {
    # Masks token=/key=/cookie values in every log line (tracebacks too), Scrapy's own included.
    "crawlers.redact.RedactSecrets": 0,
    # Extensions the crawls do not use (None removes them): remote control (see above), the
    # memory debugger, and job-directory state and feed exports (crawls write to the store).
    "scrapy.extensions.telnet.TelnetConsole": None,
    "scrapy.extensions.remote_control.RemoteControl": None,
    "scrapy.extensions.memdebug.MemoryDebugger": None,
    "scrapy.extensions.spiderstate.SpiderState": None,
    "scrapy.extensions.feedexport.FeedExporter": None,
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

# --- Tingfeng: distributed crawling (Redis; crawlers/distributed/) --------------------------
# Redis of the shared crawl frontier. Set: monitor runs queue their crawls here for
# `tingfeng worker` processes instead of starting subprocesses, and monitor runs are locked here.
REDIS_URL = os.environ.get("TINGFENG_REDIS_URL", "")
# First part of every Redis key, so deployments can share one Redis.
DISTRIBUTED_KEY_PREFIX = os.environ.get("TINGFENG_REDIS_PREFIX", "tingfeng")
# Seconds a worker's heartbeat lasts: its requests are re-queued this long after it dies.
DISTRIBUTED_LEASE_SECONDS = 30.0
# Seconds between a worker's (and a waiting monitor run's) looks at Redis.
DISTRIBUTED_POLL_INTERVAL = 0.2
# Runs one worker crawls at the same time.
DISTRIBUTED_MAX_RUNS = 8
# Platforms a worker takes runs of (comma-separated; empty = all).
DISTRIBUTED_WORKER_PLATFORMS = os.environ.get("TINGFENG_WORKER_PLATFORMS", "")
# Requests a host's token bucket may let through at once after a quiet spell (1 = none early).
DISTRIBUTED_THROTTLE_BURST = 1.0

# --- Tingfeng: where monitor runs crawl (scheduler/runner.py) -------------------------------
# local: a subprocess per crawl; redis: `tingfeng worker` processes (REDIS_URL); scrapyd: the
# scrapyd nodes of SCRAPYD_URL; auto: redis when REDIS_URL is set, else local.
CRAWL_DISPATCH = os.environ.get("TINGFENG_CRAWL_DISPATCH", "auto")
# scrapyd nodes (comma-separated http(s) addresses); each crawl goes to the least busy one.
SCRAPYD_URL = os.environ.get("TINGFENG_SCRAPYD_URL", "")
# Project name the egg was deployed under (scrapy.cfg [deploy] project).
SCRAPYD_PROJECT = os.environ.get("TINGFENG_SCRAPYD_PROJECT", "tingfeng")
# scrapyd's basic-auth login (the names scrapyd itself reads; a password in SCRAPYD_URL wins).
SCRAPYD_USERNAME = os.environ.get("SCRAPYD_USERNAME", "")
SCRAPYD_PASSWORD = os.environ.get("SCRAPYD_PASSWORD", "")
# Seconds between looks at a scrapyd job (its state and new log lines).
SCRAPYD_POLL_INTERVAL = 2.0

# --- Tingfeng: mail and reports -----------------------------------------------------------
# Where alert email goes: smtp://user@host:587?starttls=1, smtps://host:465, file:///path/outbox
# (writes .eml files: the default, no mail server needed) or memory:// (tests).
# Imported attribution campaigns (touchpoints and conversions as JSON lines).
ATTRIBUTION_DIR = os.environ.get("TINGFENG_ATTRIBUTION_DIR", str(_data_dir() / "attribution"))
MAIL_URL = os.environ.get("TINGFENG_MAIL_URL", f"file://{_data_dir() / 'outbox'}")
# Sender address of alert and digest emails.
MAIL_FROM = os.environ.get("TINGFENG_MAIL_FROM", "tingfeng@localhost")
# Recipients added to every monitor's own (comma-separated); used alone when a monitor has none.
MAIL_TO = [a.strip() for a in os.environ.get("TINGFENG_MAIL_TO", "").split(",") if a.strip()]
# SMTP login (environment only; a password in MAIL_URL wins). Never logged: URLs print masked.
MAIL_USERNAME = os.environ.get("MAIL_USERNAME", "")
MAIL_PASSWORD = os.environ.get("MAIL_PASSWORD", "")
# Upgrade smtp:// connections with STARTTLS (also ?starttls=1 in MAIL_URL); refuses clear text.
MAIL_STARTTLS = os.environ.get("MAIL_STARTTLS", "") in ("1", "true", "yes")
# Seconds to wait for the SMTP server (connect and each command).
MAIL_TIMEOUT = 30.0
# Backoff after the n-th failed send: retry no sooner than MAIL_RETRY_BASE * 2**(n-1) seconds.
MAIL_RETRY_BASE = 60.0
# Longest wait between two tries of an alert: a long outage is retried at this pace, never given up.
MAIL_RETRY_MAX = 21600.0
# Tries after which an unsent alert is logged as an error for a person (it is still retried).
MAIL_MAX_ATTEMPTS = 10
# Accounts listed in a KOL report unless --top says otherwise.
REPORT_TOP_K = 50

# The offensive-language model (trained on COLD) adds abuse:model hits to comments and replies
# that no abuse word matched.
RISK_ABUSE_MODEL_ENABLED = True
# Another abuse model's metadata .json ("" = the shipped one).
RISK_ABUSE_MODEL_PATH = ""
# Abuse probability from which a comment or reply is flagged. The model's own best-F1 point on
# COLD (0.41) flags ~21% of ordinary event comments; 0.8 keeps recall 0.78 and flags ~6%.
RISK_ABUSE_THRESHOLD = 0.8
# `sentiment adapt` labels a post without emoticons by the current model when it is this sure.
SENTIMENT_ADAPT_MIN_CONFIDENCE = 0.9

# --- Tingfeng: monitors and alerts --------------------------------------------------------
# Time zone of monitor schedules (--cron '0 9 * * *' means 09:00 in this zone).
MONITOR_TIMEZONE = os.environ.get("TINGFENG_TIMEZONE", "Asia/Shanghai")
# Seconds between reconciliations of scheduler jobs with the monitors in the store.
MONITOR_SYNC_INTERVAL = 60
# Seconds a run may start late (service down or busy) and still run once; later runs are skipped.
MONITOR_MISFIRE_GRACE = 1800
# Monitor runs at the same time (each waits on crawl subprocesses, not the CPU).
MONITOR_MAX_WORKERS = 4
# Seconds before a run that found the store down is tried again.
MONITOR_RETRY_DELAY = 300
# SQLAlchemy URL of the scheduler's job store; empty: beside the store (x.db → x.jobs.sqlite).
MONITOR_JOBSTORE = os.environ.get("TINGFENG_JOBSTORE", "")
# Seconds of posts each run's metrics cover; widened to the schedule's period when longer.
MONITOR_WINDOW = 3600
# Seconds of a topic's posts read for cascades and "first time seen" (7 days).
MONITOR_LOOKBACK = 604800
# Searches per platform a query may expand to (its AND/OR combinations).
MONITOR_MAX_KEYWORDS = 16
# Seconds a single crawl subprocess may run before it is stopped.
MONITOR_CRAWL_TIMEOUT = 1800
# Seconds a crawl stopped at its time limit (SIGTERM) gets to shut down before SIGKILL (> 0).
CRAWL_KILL_GRACE = 30
# Spike rules fire only when the upper-tail p-value against the baseline is at most this.
ALERT_SPIKE_PVALUE = 0.01
# Spike and share rules stay quiet below this many posts in the window.
ALERT_MIN_VOLUME = 20
# A negative spike needs at least this many times the baseline's negative posts.
ALERT_MIN_RATIO = 2.0
# A volume spike needs at least this many times the baseline's posts.
ALERT_VOLUME_GROWTH = 3.0
# Share of negative posts in the window that alerts whatever the baseline (0.6 = 60%).
ALERT_NEGATIVE_RATIO = 0.6
# Risk-lexicon word hits in the window that raise an alert.
ALERT_RISK_HITS = 5
# Head-tier or 大V accounts posting on the topic for the first time that raise an alert.
ALERT_HEAD_JOINED = 1
# Leave accounts whose water-army score reaches this (0–1, e.g. 0.8) out of a monitor's metrics
# and alerts; the run and its alerts say how many ("" = keep everyone).
ALERT_EXCLUDE_WATERARMY = ""
# The health divergence rule: short-term volume or engagement this much above their history
# (0.2 = 20%) while the long-term indicators slide.
ALERT_DIVERGENCE_RISE = 0.2
# A province's posts must reach this many times its own baseline to alert (某地区参与量突增)…
ALERT_REGION_GROWTH = 3.0
# …and at least this many posts in the window.
ALERT_REGION_MIN = 10
# Consecutive crawls of a platform ending in a login wall, rate limit or block before alerting.
ALERT_CRAWL_FAILURES = 3
# Seconds after an alert during which the same monitor and rule stay quiet (unless it worsens).
ALERT_COOLDOWN = 3600
# Weeks of past runs the seasonal baseline (same hour of the week) looks back over.
ALERT_HISTORY_WEEKS = 4
# Send each monitor's daily digest email (metrics and the day's alerts).
ALERT_DIGEST_ENABLED = os.environ.get("TINGFENG_DIGEST", "") in ("1", "true", "yes")
# Hour of the day (MONITOR_TIMEZONE) the digest is sent.
ALERT_DIGEST_HOUR = 9
# Quiet hours (MONITOR_TIMEZONE), e.g. "22:00-08:00": only red alerts are sent; the rest wait and
# go out together when they end. Per monitor: --quiet-hours.
ALERT_QUIET_HOURS = ""
# A warning that keeps firing for this many monitor runs in a row becomes a red alert (0 = never).
ALERT_ESCALATE_RUNS = 3
# Extra recipients of escalated (red) alerts, comma-separated. Per monitor: --escalate-to.
ALERT_ESCALATE_TO = ""
# Seconds one delivery may hold an alert (its claim) before another process may take it over.
ALERT_CLAIM_SECONDS = 600
# Language of reports, alerts and digests: zh_CN (default) or en.
LANGUAGE = os.environ.get("TINGFENG_LANGUAGE", "zh_CN")
# The web app's users, sessions, login failures and audit log (SQLite), apart from the store.
WEB_DB = os.environ.get("TINGFENG_WEB_DB", str(_data_dir() / "web.db"))
# The web app's address, for links from alerts to dashboards and alert pages ("" = no links).
WEB_BASE_URL = os.environ.get("TINGFENG_WEB_BASE_URL", "")

# --- Tingfeng: chat and webhook channels --------------------------------------------------
# Seconds per request to a chat robot or webhook.
CHANNEL_TIMEOUT = 10.0
# Multiplier of each robot's documented spacing (WeCom and DingTalk 3 s, Feishu 0.6 s); 0 = none.
CHANNEL_PACE = 1.0
# API roots, for private deployments and tests.
WECOM_API_BASE = "https://qyapi.weixin.qq.com"
DINGTALK_API_BASE = "https://oapi.dingtalk.com"
FEISHU_API_BASE = "https://open.feishu.cn"
LARK_API_BASE = "https://open.larksuite.com"

# --- WeChat and Zhihu ---------------------------------------------------------------------
# Secret: "uin=…&key=…&pass_ticket=…&appmsg_token=…" of a WeChat-client profile_ext request.
WECHAT_PROFILE_QUERY = os.environ.get("WECHAT_PROFILE_QUERY", "")
# Zhihu x-zse-96 signer: "cmd:<program args>" or "python:<module>:<func>" (crawlers/zhihu_sign.py)
ZHIHU_SIGNER = os.environ.get("ZHIHU_SIGNER", "")

# --- Scoring: sentiment, influence, risk ----------------------------------------------------
# Sentiment model metadata (.json beside its .npz) to use instead of the one in scoring/models.
SENTIMENT_MODEL_PATH = os.environ.get("TINGFENG_SENTIMENT_MODEL", "")
# Scores below LOW are negative, above HIGH positive, in between (inclusive) neutral. Empty: the
# model's own band, chosen on dev data at training (the shipped model's is in its .json).
SENTIMENT_NEUTRAL_LOW = ""
# Upper edge of the neutral band (see SENTIMENT_NEUTRAL_LOW); set both or neither.
SENTIMENT_NEUTRAL_HIGH = ""
# Emotion probability below which a post is given no emotion. Empty: the model's own threshold.
SENTIMENT_EMOTION_THRESHOLD = ""
# Your own model service (scheduler/remote_model.py protocol) instead of the shipped model; the
# shipped model scores what the service cannot. May carry credentials: never logged.
SENTIMENT_REMOTE_URL = os.environ.get("TINGFENG_SENTIMENT_URL", "")
# Version stored beside the service's scores (stored as "remote:<this>").
SENTIMENT_REMOTE_VERSION = os.environ.get("TINGFENG_SENTIMENT_URL_VERSION", "remote")
# Texts per request to the service.
SENTIMENT_REMOTE_BATCH = 64
# Seconds before a request to the service is given up.
SENTIMENT_REMOTE_TIMEOUT = 10.0
# Retries (with backoff) before a batch goes to the fallback model.
SENTIMENT_REMOTE_RETRIES = 2
# Tier cut-offs per platform merged over scoring.influence.DEFAULT_TIERS: {"weibo": {"head": 2e6}}.
INFLUENCE_TIERS: dict[str, dict[str, float]] = _env_json("TINGFENG_INFLUENCE_TIERS", {})  # type: ignore[assignment]
# Complaint words for the risk radar; empty = built-in list of scoring/risk.py, a list replaces it.
RISK_COMPLAINT_WORDS: list[str] = _env_json("TINGFENG_RISK_COMPLAINT_WORDS", [])  # type: ignore[assignment]
# Sensitive words for the risk radar; empty = built-in list, a list replaces it.
RISK_SENSITIVE_WORDS: list[str] = _env_json("TINGFENG_RISK_SENSITIVE_WORDS", [])  # type: ignore[assignment]
# Abuse words flagging abusive comments and replies; empty = built-in list, a list replaces it.
RISK_ABUSE_WORDS: list[str] = _env_json("TINGFENG_RISK_ABUSE_WORDS", [])  # type: ignore[assignment]

# --- MongoDB in production (crawlers/storage/_mongoconf.py) ----------------------------------
# Each applies when the mongodb:// URI does not set the same option (the URI's w, journal,
# wtimeoutMS, readPreference, maxPoolSize win). Read from the environment as text and checked
# (a bad value is refused in one line) when a MongoDB store opens.
# Write acknowledgement: "majority" (survives a fail-over) or a number of members (≥ 1).
# Alert claims, dedupe, runs and monitors always use "majority".
MONGO_WRITE_CONCERN = os.environ.get("TINGFENG_MONGO_WRITE_CONCERN", "majority")
# Wait for the journal on disk before a write counts as done (false: the server's default).
MONGO_JOURNAL = os.environ.get("TINGFENG_MONGO_JOURNAL", "true")
# Milliseconds a write waits for its acknowledgement before failing (then spooled; 0 = no limit).
MONGO_WTIMEOUT_MS = os.environ.get("TINGFENG_MONGO_WTIMEOUT_MS", "10000")
# Where posts and authors are read: primary, or secondaryPreferred/nearest… for the web app and
# reports (they may lag by the replication delay). Claims and run records always read the primary.
MONGO_READ_PREFERENCE = os.environ.get("TINGFENG_MONGO_READ_PREFERENCE", "primary")
# Connections per server in each process's pool.
MONGO_MAX_POOL_SIZE = os.environ.get("TINGFENG_MONGO_MAX_POOL_SIZE", "100")
