"""Secrets never reach a log line: messages, tracebacks, stack info, quoted cookies."""

from __future__ import annotations

import io
import logging

from crawlers.redact import install, redact

SECRET_URL = ("https://mp.weixin.qq.com/mp/getappmsgext?__biz=MzA&key=KEY123secret"
              "&uin=UIN456secret&pass_ticket=PT789secret&appmsg_token=AT000secret")


def _captured(fn) -> str:
    install()
    buf = io.StringIO()
    handler = logging.StreamHandler(buf)
    handler.setFormatter(logging.Formatter("%(message)s"))
    log = logging.getLogger("tingfeng.test.leaks")
    log.addHandler(handler)
    log.setLevel(logging.DEBUG)
    try:
        fn(log)
    finally:
        log.removeHandler(handler)
    return buf.getvalue()


def test_a_traceback_that_quotes_a_secret_url_is_masked():
    def boom(log):
        try:
            raise ValueError(f"cannot decode the body of {SECRET_URL}")
        except ValueError:
            log.exception("callback failed")

    out = _captured(boom)
    assert "callback failed" in out and "ValueError" in out
    for secret in ("KEY123secret", "UIN456secret", "PT789secret", "AT000secret"):
        assert secret not in out


def test_stack_info_and_arguments_are_masked():
    out = _captured(lambda log: log.info("GET %s", SECRET_URL, stack_info=True))
    assert "PT789secret" not in out and "getappmsgext" in out


def test_a_quoted_cookie_value_is_masked():
    line = 'Cookie: d_c0="AB12secret|1609"; z_c0=2|1:0|Zsecret'
    masked = redact(line)
    assert "AB12secret" not in masked and "Zsecret" not in masked
    assert "Cookie" in masked
