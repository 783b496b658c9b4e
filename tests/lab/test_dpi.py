from censorscope.lab.dpi import MORE, STOP, FlowInspector, Found
from censorscope.scenario import Dpi
from tests.wire.test_clienthello import client_hello


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


TSPU = Dpi(inspect_packets=1, random_cutoff=101, keep_packets=18, flow_idle=600)


def test_tspu_stops_on_a_long_random_first_packet() -> None:
    assert FlowInspector(TSPU).feed(b"\x7f" * 101) == STOP


def test_tspu_keeps_looking_after_a_short_one_or_another_record() -> None:
    hello = client_hello("twitter.com")
    for first in (b"\x7f" * 100, b"\x14\x03\x03\x00\x01\x01", b"CONNECT x:443 HTTP/1.1\r\n\r\n"):
        dpi = FlowInspector(TSPU)
        assert dpi.feed(first) == MORE
        assert dpi.feed(hello) == Found("sni", "twitter.com")


def test_tspu_gives_up_after_its_packet_budget() -> None:
    dpi = FlowInspector(TSPU)
    assert dpi.feed(b"\x14\x03\x03\x00\x01\x01") == MORE
    assert [dpi.feed(b"\x7f" * 10) for _ in range(18)][-1] == STOP


def test_a_record_in_front_of_the_hello_in_one_packet_hides_it() -> None:
    hello = client_hello("twitter.com")
    assert FlowInspector(TSPU).feed(b"\x14\x03\x03\x00\x01\x01" + hello) == MORE
