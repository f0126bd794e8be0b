"""Distributed crawling on Redis: any number of ``tingfeng worker`` processes share one frontier.

Built on scrapy-redis (its pickled-request priority queue, its SHA1 request fingerprints, its
connection factory), with what it lacks for monitor runs::

    monitor run (scheduler)                       Redis                      tingfeng worker × N
    ─────────────────────────                     ─────                      ───────────────────
    dispatch.run_distributed ──seeds──▶ run:<id>:requests (zset) ◀──pop+lease── RunScheduler
      (spider.start() in-process)       run:<id>:dupefilter (set)  ◀──enqueue── children, retries
                                        run:<id>:leases (hash)     ──ack──▶ once items are stored
      waits until drained ◀──────────── run:<id>:parts (hash)      ◀──stats── one part per worker
      merges parts → CrawlRun(run id)   throttle:<host> (bucket)   ◀──token── throttle middleware

* **frontier.py** ``RunQueue`` (scrapy-redis ``PriorityQueue`` whose pop moves the request into a
  lease, atomically) and ``RunScheduler`` (scrapy-redis ``Scheduler`` per run: dedupe+push in one
  Lua call, in-flight leases, dead workers' leases re-queued).
* **throttle.py** a per-host token bucket plus a global concurrency cap (one Lua script), as a
  downloader middleware: a platform's DOWNLOAD_DELAY and CONCURRENT_REQUESTS_PER_DOMAIN hold
  across all workers.
* **runs.py** run bookkeeping: when a leased request is done (its items stored), run specs,
  worker parts and the merged CrawlRun.
* **worker.py** the ``tingfeng worker`` process; **dispatch.py** the monitor-run side;
  **locks.py** monitor-run locks (SET NX PX with a fencing token).

Imports redis and scrapy-redis, the ``distributed`` extra: ``pip install .[distributed]``.
Never imports graph, scoring or scheduler.
"""
