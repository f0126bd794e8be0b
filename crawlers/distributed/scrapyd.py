"""Crawls on scrapyd nodes (CRAWL_DISPATCH=scrapyd): one scrapyd job per crawl, through scrapyd's
HTTP API::

    scheduler.runner ──schedule.json (spider, its -a arguments, setting=…, jobid=run id)──▶ node
      status.json every SCRAPYD_POLL_INTERVAL; new log lines by HTTP Range ◀── scrapy crawl (egg)
      time limit or interruption: cancel.json TERM, then KILL CRAWL_KILL_GRACE seconds later
      the job's StorePipeline writes its CrawlRun (run id = job id); the runner reads it back

The project reaches the nodes as an egg built by ``scrapyd-deploy`` (its ``scrapy`` entry point
names crawlers.settings, which reads secrets from the node's environment). scrapyd logs every
job's command line and lists pending jobs' settings, so a STORE_URI with a password is never
sent in schedule.json, nor the scheduler's own spool folder: the nodes take those from their
environment. With several nodes, each crawl goes to the one with the fewest pending and running
jobs. When no node answers, ScrapydUnavailable is raised before anything has started, so the
monitor run can simply be repeated later.

httpx only: never imports scrapy-redis, graph, scoring or scheduler.
"""

from __future__ import annotations

import codecs
import json
import logging
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlsplit

import httpx

from crawlers.config import scrapyd_nodes
from crawlers.errors import CrawlerError

if TYPE_CHECKING:
    from scrapy.settings import Settings

__all__ = ["ScrapydClient", "ScrapydError", "ScrapydOutcome", "ScrapydUnavailable",
           "job_settings", "run_on_scrapyd"]

log = logging.getLogger(__name__)

TIMEOUT = 10.0  # seconds per API call
LOST_AFTER = 300.0  # seconds a node may stay unreachable during a job before it is given up
NOT_SENT = ("STORE_SPOOL_DIR",)  # a folder on the scheduler's machine, not the node's
RESERVED = frozenset({"project", "spider", "setting", "jobid", "priority", "_version"})


class ScrapydError(CrawlerError):
    """scrapyd refused a call (project not deployed, unknown spider, wrong login)."""


class ScrapydUnavailable(ScrapydError):
    """No scrapyd node of SCRAPYD_URL answered. Nothing was started: repeat the run later."""


class ScrapydClient:
    """One node's API (scrapyd ≥ 1.5). Credentials come from the URL's user part or from
    ``username``/``password``; ``url`` keeps neither. ``transport`` is for tests."""

    def __init__(self, url: str, *, username: str = "", password: str = "",
                 timeout: float = TIMEOUT, transport: httpx.BaseTransport | None = None) -> None:
        parts = urlsplit(url)
        if parts.username is not None:
            username, password = unquote(parts.username), unquote(parts.password or "")
            parts = parts._replace(netloc=parts.netloc.rsplit("@", 1)[1])
        self.url = parts.geturl().rstrip("/")
        auth = httpx.BasicAuth(username, password) if username else None
        self._http = httpx.Client(base_url=self.url + "/", auth=auth, timeout=timeout,
                                  transport=transport)

    def close(self) -> None:
        self._http.close()

    def call(self, method: str, endpoint: str, **kwargs: Any) -> dict[str, Any]:
        """One API call's JSON answer; raises ScrapydUnavailable or ScrapydError naming the fix."""
        where = f"scrapyd at {self.url}"
        try:
            response = self._http.request(method, endpoint, **kwargs)
        except httpx.TransportError as exc:
            raise ScrapydUnavailable(f"{where} is unreachable (SCRAPYD_URL): {exc}") from exc
        if response.status_code == 401:
            raise ScrapydError(f"{where} refused the login: set SCRAPYD_USERNAME and "
                               "SCRAPYD_PASSWORD to its scrapyd.conf username and password")
        if response.status_code >= 500:
            raise ScrapydUnavailable(f"{where}: {endpoint} answered HTTP {response.status_code}")
        try:
            data = response.json()
        except ValueError:
            data = None
        if not isinstance(data, dict):
            raise ScrapydError(f"{where}: {endpoint} answered HTTP {response.status_code} without "
                               "JSON: is SCRAPYD_URL the address of a scrapyd?")
        if data.get("status") != "ok":
            raise ScrapydError(f"{where}: {endpoint}: {data.get('message') or data}")
        return data

    def load(self) -> int:
        """Jobs pending and running on the node."""
        data = self.call("GET", "daemonstatus.json")
        return int(data.get("pending", 0)) + int(data.get("running", 0))

    def schedule(self, project: str, spider: str, args: Mapping[str, str],
                 settings: Mapping[str, str], job: str) -> str:
        form: dict[str, Any] = {**args, "project": project, "spider": spider, "jobid": job,
                                "setting": [f"{k}={v}" for k, v in settings.items()]}
        try:
            return str(self.call("POST", "schedule.json", data=form)["jobid"])
        except ScrapydUnavailable:
            raise
        except ScrapydError as exc:
            if "not found" in str(exc):  # project or spider: the egg is missing or outdated
                raise ScrapydError(f"{exc}; deploy the project there with `scrapyd-deploy "
                                   f"<target> -p {project}` (scrapy.cfg [deploy]) or set "
                                   "SCRAPYD_PROJECT") from exc
            raise

    def state(self, project: str, job: str) -> str | None:
        """pending, running, finished; None when the node does not know the job."""
        data = self.call("GET", "status.json", params={"project": project, "job": job})
        return data.get("currstate")

    def cancel(self, project: str, job: str, signal: str) -> str | None:
        data = self.call("POST", "cancel.json",
                         data={"project": project, "job": job, "signal": signal})
        return data.get("prevstate")

    def log_url(self, project: str, job: str) -> str | None:
        data = self.call("GET", "listjobs.json", params={"project": project})
        for entry in [*data.get("running", []), *data.get("finished", [])]:
            if entry.get("id") == job:
                return entry.get("log_url")
        return None

    def read_log(self, url: str, offset: int) -> bytes:
        """The job log's bytes from ``offset`` on (b"" when there are none, or no log)."""
        try:
            response = self._http.get(url, headers={"Range": f"bytes={offset}-"})
        except httpx.TransportError:
            return b""
        if response.status_code == 206:
            return response.content
        return response.content[offset:] if response.status_code == 200 else b""


def job_settings(forwarded: Mapping[str, Any]) -> dict[str, str]:
    """The runner's forwarded settings as scrapyd ``setting=`` values (``-s`` of the job), less
    what must stay on the nodes (the module docstring says why)."""
    out = {}
    for key, value in forwarded.items():
        if key in NOT_SENT or (key == "STORE_URI" and urlsplit(str(value)).password is not None):
            continue
        out[key] = (json.dumps(value, ensure_ascii=False) if isinstance(value, (dict, list))
                    else str(value))
    return out


@dataclass
class ScrapydOutcome:
    """How a scrapyd job ended. ``state``: finished, cancelled (while still pending), gone (the
    node forgot it: restarted) or lost (the node stopped answering); ``ended`` as the runner's."""

    node: str
    job: str
    state: str
    ended: str = "normal"

    @property
    def returncode(self) -> int:
        """As a local crawl's: 0, -9 after KILL, -15 when cancelled before it ran, else 1."""
        if self.ended == "timeout-killed":
            return -9
        if self.state == "cancelled":
            return -15
        return 0 if self.state in ("finished", "gone") else 1


def run_on_scrapyd(
    platform: str, *, run_id: str, settings: Settings, spider_args: Mapping[str, Any],
    forwarded: Mapping[str, Any], timeout: float | None, grace: float,
    on_line: Callable[[str], None], clients: Sequence[ScrapydClient] | None = None,
) -> ScrapydOutcome:
    """Crawl ``platform`` as a scrapyd job with id ``run_id`` and wait until it has ended.

    ``timeout`` (seconds from scheduling, None for none) cancels the job with TERM (Scrapy's
    graceful shutdown), then KILL after ``grace``; so does an exception while waiting (Ctrl-C,
    ``on_line`` raising), before it propagates. ``on_line`` gets the job's log lines.
    :raises ScrapydUnavailable: no node answered; nothing was started.
    :raises ScrapydError: a node refused the job (e.g. the project is not deployed there).
    """
    args = {k: str(v) for k, v in spider_args.items() if v not in (None, "")}
    clash = sorted(RESERVED & set(args))
    if clash:
        raise ScrapydError(f"spider arguments {clash} clash with scrapyd's own parameters")
    nodes = list(clients) if clients is not None else [
        ScrapydClient(url, username=str(settings.get("SCRAPYD_USERNAME") or ""),
                      password=str(settings.get("SCRAPYD_PASSWORD") or ""))
        for url in scrapyd_nodes(settings)]
    project = str(settings.get("SCRAPYD_PROJECT") or "tingfeng")
    poll = settings.getfloat("SCRAPYD_POLL_INTERVAL", 2.0)
    try:
        node = _schedule(nodes, project, platform, args, job_settings(forwarded), run_id)
        on_line(f"{platform}: scrapyd job {run_id} scheduled on {node.url}")
        job = _Job(node, project, run_id, platform, grace, poll, on_line)
        try:
            return job.wait(timeout)
        except BaseException:
            job.stop()
            raise
    finally:
        for client in nodes:
            client.close()


def _schedule(nodes: Sequence[ScrapydClient], project: str, spider: str,
              args: Mapping[str, str], settings: Mapping[str, str], job: str) -> ScrapydClient:
    """Schedule on the least busy node that answers; a node refusing the connection is skipped
    (the job cannot have reached it)."""
    down: list[str] = []
    ranked = []
    for i, node in enumerate(nodes):
        try:
            ranked.append((node.load(), i, node))
        except ScrapydUnavailable as exc:
            down.append(str(exc))
    for _, _, node in sorted(ranked, key=lambda r: r[:2]):
        try:
            node.schedule(project, spider, args, settings, job)
            return node
        except ScrapydUnavailable as exc:
            down.append(str(exc))
    raise ScrapydUnavailable("no scrapyd node took the crawl, nothing was started: "
                             + "; ".join(down or ["SCRAPYD_URL names no node"]))


class _Job:
    """Waiting for one scheduled job: its state, its log, and stopping it."""

    def __init__(self, node: ScrapydClient, project: str, job: str, platform: str,
                 grace: float, poll: float, on_line: Callable[[str], None]) -> None:
        self.node, self.project, self.job, self.platform = node, project, job, platform
        self.grace, self.poll, self.on_line = grace, poll, on_line
        self._log_url: str | None = None
        self._offset = 0
        self._decoder = codecs.getincrementaldecoder("utf-8")("replace")
        self._partial = ""

    def wait(self, timeout: float | None) -> ScrapydOutcome:
        deadline = time.monotonic() + timeout if timeout else None
        ended, term_at, kill_at, silent_since = "normal", 0.0, 0.0, 0.0
        while True:
            now = time.monotonic()
            try:
                state = self.node.state(self.project, self.job) or "gone"
                silent_since = 0.0
            except ScrapydUnavailable as exc:
                silent_since = silent_since or now
                if now - silent_since > LOST_AFTER:
                    self.on_line(f"{self.platform}: scrapyd at {self.node.url} silent for "
                                 f"{LOST_AFTER:g}s; job {self.job} given up: {exc}")
                    return self._ended("lost", ended)
                state = "unknown"
            if state in ("running", "finished", "gone"):
                self._read_log()
            if state in ("finished", "gone"):
                return self._ended(state, ended)
            if deadline is not None and now >= deadline and not term_at:
                term_at, ended = now, "timeout-graceful"
                self.on_line(f"crawl stopped after {timeout:g}s (MONITOR_CRAWL_TIMEOUT): "
                             f"scrapyd job {self.job} cancelled (TERM)")
                if self._cancel("TERM") == "pending":
                    return self._ended("cancelled", ended)
            elif term_at and not kill_at and now >= term_at + self.grace:
                kill_at, ended = now, "timeout-killed"
                self.on_line(f"scrapyd job {self.job} still running {self.grace:g}s after TERM "
                             "(CRAWL_KILL_GRACE): cancelled again (KILL)")
                self._cancel("KILL")
            elif kill_at and now >= kill_at + self.grace:
                return self._ended("lost", ended)
            time.sleep(self.poll)

    def stop(self) -> None:
        """Interrupted: TERM now, KILL if it still runs ``grace`` seconds later."""
        log.warning("scrapyd job %s interrupted: cancelling it (TERM, KILL in %gs)", self.job,
                    self.grace)
        try:
            if self._cancel("TERM") != "running":
                return
            give_up = time.monotonic() + self.grace
            while time.monotonic() < give_up:
                if self.node.state(self.project, self.job) != "running":
                    return
                time.sleep(self.poll)
            self._cancel("KILL")
        except ScrapydError as exc:
            log.error("scrapyd job %s may still be running: %s", self.job, exc)

    def _cancel(self, signal: str) -> str | None:
        return self.node.cancel(self.project, self.job, signal)

    def _ended(self, state: str, ended: str) -> ScrapydOutcome:
        if self._partial:
            self.on_line(self._partial.rstrip())
            self._partial = ""
        return ScrapydOutcome(self.node.url, self.job, state, ended)

    def _read_log(self) -> None:
        """Feed the job log's new complete lines to on_line (the log is only progress: a
        node without logs, or a failed read, costs nothing)."""
        try:
            if self._log_url is None:
                self._log_url = self.node.log_url(self.project, self.job)
            if self._log_url is None:
                return
            chunk = self.node.read_log(self._log_url, self._offset)
        except ScrapydError:
            return
        self._offset += len(chunk)
        lines = (self._partial + self._decoder.decode(chunk)).split("\n")
        self._partial = lines.pop()
        for line in lines:
            self.on_line(line.rstrip())
