"""Orchestration: the `tingfeng` command, crawl runner, monitors, alerts, mail, reports, charts."""
