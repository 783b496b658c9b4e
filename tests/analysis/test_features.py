"""The features' fast readers agree with the slow ones they stand in for."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
from hypothesis import given
from hypothesis import strategies as st

from censorscope.analysis.features import name_key, url_host

_URL_CHARS = st.sampled_from([*"htps:/[]@?#%.-_:19aZ\\\t\n Ж", "http://", "https://"])


def _slow_host(url: str) -> str | None:
    try:
        return urlsplit(url).hostname or ""
    except ValueError:
        return None


@given(st.lists(_URL_CHARS, max_size=20).map("".join))
def test_url_host_is_urlsplits_hostname(url: str) -> None:
    want = _slow_host(url)
    if want is None:
        with pytest.raises(ValueError):
            url_host(url)
    else:
        assert url_host(url) == want


@pytest.mark.parametrize(
    "url",
    ["https://Twitter.COM/x", "http://t.co:8080", "http://user@host/", "http://[::1]:80/",
     "http://a\tb.com/", "HTTPS://EXAMPLE.org?q", "ftp://x.y#z", "//nohost", "no url"],
)  # fmt: skip
def test_url_host_on_the_usual_and_the_odd(url: str) -> None:
    assert url_host(url) == _slow_host(url)


@given(st.text(max_size=30))
def test_name_key_of_ascii_is_what_idna_gives(host: str) -> None:
    h = host.lower().rstrip(".")
    try:
        want = h.encode("idna").decode("ascii")
    except UnicodeError:
        want = h
    assert name_key(host) == want
