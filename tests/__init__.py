"""Test package. Proxy variables are blanked so nothing in the suite can reach the network
through a proxy (Scrapy's tests/__init__.py, httpx's clean_environ)."""

import os

for _var in ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "all_proxy"):
    os.environ.pop(_var, None)
os.environ["NO_PROXY"] = os.environ["no_proxy"] = "*"
