"""A user's own model service behind the scorer interface: batching, retries, fallback, a real
loopback HTTP server."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from crawlers.errors import ConfigError
from scheduler.remote_model import RemoteModel
from scheduler.rescore import model_from_settings
from scoring.sentiment import SentimentResult, load_model


class _Service(BaseHTTPRequestHandler):
    """Scores "好" texts 0.9 and others 0.1; fails the first ``fail`` requests with a 503."""

    calls: list[list[str]] = []
    fail = 0
    answer = "results"

    def do_POST(self):  # noqa: N802 - http.server's name
        texts = json.loads(self.rfile.read(int(self.headers["Content-Length"])))["texts"]
        type(self).calls.append(texts)
        if type(self).fail > 0:
            type(self).fail -= 1
            self.send_response(503)
            self.end_headers()
            return
        scores = [0.9 if "好" in t else 0.1 for t in texts]
        body = ({"results": [{"score": s, "emotion": "like" if s > 0.5 else None}
                             for s in scores]} if type(self).answer == "results"
                else {"scores": scores} if type(self).answer == "scores" else {"oops": 1})
        data = json.dumps(body).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


@pytest.fixture
def service():
    _Service.calls, _Service.fail, _Service.answer = [], 0, "results"
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Service)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/score"
    server.shutdown()
    server.server_close()


class _Fallback:
    version = "local-1"

    def score(self, texts):
        return [SentimentResult(0.5, "neutral") for _ in texts]


def test_texts_are_scored_in_batches_by_the_service(service):
    model = RemoteModel(service, fallback=_Fallback(), version="bert-7", batch=2)
    results = model.score(["好啊", "差劲", "很好", "糟"])
    assert [r.label for r in results] == ["positive", "negative", "positive", "negative"]
    assert results[0].emotion == "like" and results[0].model is None
    assert _Service.calls == [["好啊", "差劲"], ["很好", "糟"]]
    assert model.version == "remote:bert-7" and model.fallbacks == 0


def test_a_bare_score_list_is_accepted(service):
    _Service.answer = "scores"
    assert [r.score for r in RemoteModel(service, fallback=_Fallback()).score(["好", "x"])] == [
        0.9, 0.1]


def test_a_flaky_service_is_retried(service):
    _Service.fail = 2
    model = RemoteModel(service, fallback=_Fallback(), retries=2, sleep=lambda s: None)
    assert model.score(["好"])[0].score == 0.9
    assert len(_Service.calls) == 3


def test_a_down_or_confused_service_falls_back_and_tags_the_version(service):
    _Service.fail = 10
    model = RemoteModel(service, fallback=_Fallback(), retries=1, sleep=lambda s: None)
    result = model.score(["好"])[0]
    assert (result.score, result.model) == (0.5, "local-1")  # rescore will try these again
    assert model.fallbacks == 1
    _Service.fail, _Service.answer = 0, "wrong"
    assert model.score(["好"])[0].model == "local-1"
    dead = RemoteModel("http://127.0.0.1:9/score", fallback=_Fallback(), retries=0, timeout=2)
    assert dead.score(["好"])[0].model == "local-1"


def test_settings_pick_the_service_with_the_shipped_model_behind_it(service):
    model = model_from_settings({"SENTIMENT_REMOTE_URL": service, "SENTIMENT_REMOTE_BATCH": 8,
                                 "SENTIMENT_REMOTE_VERSION": "ours"})
    assert isinstance(model, RemoteModel) and model.version == "remote:ours"
    assert model.fallback.version.startswith("tingfeng-sent-")
    with pytest.raises(ConfigError, match="http"):
        RemoteModel("ftp://x", fallback=_Fallback())


def test_sentiment_score_names_the_model_that_scored_each_line(service, monkeypatch):
    # a line the remote service could not score says the fallback scored it, not the service
    import argparse
    import io

    from scheduler.cli import sentiment as cli

    remote = RemoteModel(service, fallback=load_model(), retries=0, sleep=lambda s: None)
    monkeypatch.setattr(cli, "_model", lambda args: remote)
    args = argparse.Namespace(model=None, baseline=None, batch_size=10, store=None)
    _Service.fail = 10
    out = io.StringIO()
    assert cli.run_score(args, stdin=io.StringIO('{"text": "太差了"}\n'), stdout=out) == 0
    row = json.loads(out.getvalue())
    assert row["model"] == load_model().version and row["model"] != remote.version
    _Service.fail = 0
    out = io.StringIO()
    cli.run_score(args, stdin=io.StringIO('{"text": "太差了"}\n'), stdout=out)
    assert json.loads(out.getvalue())["model"] == remote.version
