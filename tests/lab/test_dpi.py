from censorscope.lab.dpi import MORE, STOP, FlowInspector, Found
from censorscope.scenario import Dpi
from tests.test_clienthello import client_hello


def test_non_reassembling_dpi_misses_a_split_hello() -> None:
    hello = client_hello("twitter.com")
    dpi = FlowInspector(Dpi(reassembles=False, inspect_packets=1))
    assert dpi.feed(hello[:40]) == STOP


def test_reassembling_dpi_finds_a_split_hello() -> None:
    hello = client_hello("twitter.com")
    dpi = FlowInspector(Dpi(reassembles=True, inspect_packets=3))
    assert dpi.feed(hello[:40]) == MORE
    assert dpi.feed(hello[40:]) == Found("sni", "twitter.com")


def test_http_host_and_its_case() -> None:
    req = b"GET / HTTP/1.1\r\nHOST: bbc.com\r\n\r\n"
    assert FlowInspector(Dpi()).feed(req) == Found("http_host", "bbc.com")
    assert FlowInspector(Dpi(case_sensitive=True)).feed(req) == STOP


def test_inspects_only_so_many_packets() -> None:
    dpi = FlowInspector(Dpi(inspect_packets=2))
    assert dpi.feed(b"\x00" * 120) == MORE
    assert dpi.feed(b"\x00" * 120) == STOP
