"""Bad configuration is refused in one line before any work; global options work anywhere."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from scheduler.cli import build_parser, main


def _run(argv, capsys, monkeypatch, **env):
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    calls = []
    import scheduler.runner

    monkeypatch.setattr(scheduler.runner, "run_crawl", lambda *a, **k: calls.append(a))
    rc = main(argv)
    return rc, capsys.readouterr(), calls


@pytest.mark.parametrize(("argv", "env", "needle"), [
    (["--store", "foo://x", "crawl", "weibo", "--keyword", "听风"], {}, "store URI 'foo://x'"),
    (["crawl", "weibo", "--keyword", "听风", "--store", "foo://x"], {}, "store URI 'foo://x'"),
    (["monitor", "list", "--store", "sqlite://host/x.db"], {}, "four"),
])
def test_a_bad_store_or_mail_url_is_refused_before_any_work(argv, env, needle, capsys,
                                                            monkeypatch, tmp_path):
    monkeypatch.setenv("TINGFENG_DATA_DIR", str(tmp_path))
    rc, out, calls = _run(argv, capsys, monkeypatch, **env)
    assert rc == 2 and not calls  # no crawl started, nothing spooled
    lines = out.err.strip().splitlines()
    assert len(lines) == 1 and needle in lines[0] and "Traceback" not in out.err


CLI = [sys.executable, "-c", "import sys; from scheduler.cli import main; sys.exit(main())"]


@pytest.mark.parametrize(("env", "needle"), [
    ({"TINGFENG_STORE": "nosuch://db"}, "store URI 'nosuch://db'"),
    ({"TINGFENG_MAIL_URL": "foo://x"}, "mail URL 'foo://x'"),
    ({"TINGFENG_MAIL_URL": "bogus://alerts:hunter2@mail.example.com"}, "mail URL"),
    # refused before connecting: no MongoDB server is needed to see the error
    ({"TINGFENG_STORE": "mongodb://tf:hunter2@127.0.0.1:9/db",
      "TINGFENG_MONGO_WRITE_CONCERN": "0"}, "MONGO_WRITE_CONCERN"),
    ({"TINGFENG_STORE": "mongodb://tf:hunter2@127.0.0.1:9/db",
      "TINGFENG_MONGO_READ_PREFERENCE": "nearest-ish"}, "MONGO_READ_PREFERENCE"),
])
def test_bad_urls_from_the_environment_are_refused(env, needle, tmp_path):
    proc = subprocess.run([*CLI, "monitor", "list"], capture_output=True, text=True, timeout=60,
                          env={**os.environ, "TINGFENG_DATA_DIR": str(tmp_path), **env})
    assert proc.returncode == 2
    assert proc.stderr.count("\n") == 1 and needle in proc.stderr
    assert "hunter2" not in proc.stderr and "Traceback" not in proc.stderr


def test_a_relative_sqlite_path_is_named(capsys, monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    rc, out, _ = _run(["monitor", "list", "--store", "sqlite:///sub/y.db"], capsys, monkeypatch)
    assert rc == 0
    assert str(tmp_path / "sub" / "y.db") in out.err and "sqlite:////sub/y.db" in out.err


def test_global_options_work_after_the_subcommand_and_never_clobber_earlier_ones():
    parser = build_parser()
    assert parser.parse_args(["monitor", "list", "--store", "memory://"]).store == "memory://"
    assert parser.parse_args(["--store", "memory://", "monitor", "list"]).store == "memory://"
    assert parser.parse_args(["-v", "report", "kol", "--topic", "t"]).verbose is True
    assert parser.parse_args(["report", "kol", "--topic", "t", "-v"]).verbose is True


def test_version(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["--version"])
    assert exc.value.code == 0 and capsys.readouterr().out.startswith("tingfeng ")


def test_a_closed_pipe_is_not_a_traceback(tmp_path):
    env = {**os.environ, "TINGFENG_STORE": f"sqlite:///{tmp_path}/s.db"}
    add = [*CLI, "monitor", "add", "m", "--query", "品牌A",
           "--platforms", "weibo", "--every", "30m"]
    subprocess.run(add, env=env, check=True, capture_output=True, timeout=60)
    proc = subprocess.run(
        f"{sys.executable} -c 'import sys; from scheduler.cli import main; sys.exit(main())' "
        "monitor show m | head -c 1",
        shell=True, env=env, capture_output=True, text=True, timeout=60)
    assert "Traceback" not in proc.stderr and "BrokenPipe" not in proc.stderr


class _ClosedPipe:
    def write(self, text):
        raise BrokenPipeError(32, "Broken pipe")

    def flush(self):
        raise BrokenPipeError(32, "Broken pipe")


def test_a_reader_that_left_ends_the_command_quietly(monkeypatch, tmp_path):
    store = f"sqlite:///{tmp_path}/s.db"
    assert main(["--store", store, "monitor", "add", "m", "--query", "品牌A", "--platforms",
                 "weibo", "--every", "30m"]) == 0
    monkeypatch.setattr(sys, "stdout", _ClosedPipe())
    assert main(["--store", store, "monitor", "show", "m"]) == 0


# -- every sub-command, bad arguments: one line naming the fix, no traceback, non-zero --------
def _leaves(parser, path=()):
    import argparse

    subs = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    if not subs:
        yield path
        return
    for name, child in subs[0].choices.items():
        yield from _leaves(child, (*path, name))
    if parser.get_default("func") is not None:  # `graph` runs by itself too
        yield path


LEAVES = sorted(set(_leaves(build_parser())))


@pytest.mark.parametrize("path", LEAVES, ids=" ".join)
def test_every_subcommand_refuses_an_unknown_option_in_one_line(path, capsys):
    with pytest.raises(SystemExit) as exc:
        main([*path, "--no-such-option"])
    err = capsys.readouterr().err.strip()
    assert exc.value.code == 2
    assert len(err.splitlines()) == 1 and "--help" in err and "Traceback" not in err


@pytest.mark.parametrize(("argv", "needle"), [
    (["graph", "--topic", "x", "--platform", "douyin"], "unknown platform 'douyin'"),
    (["report", "kol", "--topic", "x", "--platform", "douyin"], "unknown platform"),
    (["report", "topic", "--topic", "x", "--tier", "king"], "unknown tier 'king'"),
    (["crawl", "weibo", "--keyword", "a", "--since", "2030-01-01"], "in the future"),
    (["monitor", "add", "m", "--query", "a", "--platforms", "weibo", "--every", "30m",
      "--threshold", "ALERT_NEGATIVE_RATIO=5"], "can never fire"),
    (["monitor", "add", "m", "--query", "品牌A or 品牌B", "--platforms", "weibo",
      "--every", "30m"], "upper case"),
    (["sentiment", "score", "--model", "/nonexistent.json"], "no such file"),
])
def test_bad_values_are_refused_in_one_line(argv, needle, capsys, monkeypatch, tmp_path):
    import io

    monkeypatch.setattr(sys, "stdin", io.StringIO('{"text": "好"}\n'))
    try:
        rc = main(["--store", f"sqlite:///{tmp_path}/s.db", *argv])
    except SystemExit as exc:
        rc = exc.code
    err = capsys.readouterr().err.strip()
    assert rc == 2 and needle in err and "Traceback" not in err, err
    assert len(err.splitlines()) <= 3  # the query error shows the query and a caret


def test_parse_with_a_bad_now_names_the_format(capsys, tmp_path):
    body = tmp_path / "x.json"
    body.write_text("{}", encoding="utf-8")
    assert main(["parse", "weibo", str(body), "--now", "yesterday"]) == 2
    assert "ISO time" in capsys.readouterr().err


def test_non_json_input_to_sentiment_score_fails(capsys, monkeypatch):
    import io

    monkeypatch.setattr(sys, "stdin", io.StringIO('{"text": "好"}\nnot json\n'))
    assert main(["sentiment", "score"]) == 1
    captured = capsys.readouterr()
    assert '"score"' in captured.out and "line 2" in captured.err
