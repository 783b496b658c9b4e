import dns.message
import dns.rcode
import pytest
from hypothesis import given
from hypothesis import strategies as st

from censorscope.wire import dns as dnswire
from tests.conftest import mutated


def test_answers_parse_with_dnspython() -> None:
    query = dns.message.make_query("WWW.Example.ORG", "A")
    q = dnswire.parse_query(query.to_wire())
    assert q is not None and q.name == "www.example.org" and q.qtype == dnswire.TYPE_A
    resp = dns.message.from_wire(dnswire.response(q, addresses=["127.10.0.1", "127.10.0.2"]))
    assert query.is_response(resp)
    assert sorted(rd.address for rd in resp.answer[0]) == ["127.10.0.1", "127.10.0.2"]
    nx = dns.message.from_wire(dnswire.response(q, dnswire.NXDOMAIN))
    assert nx.rcode() == dns.rcode.NXDOMAIN and not nx.answer


def test_garbage_is_ignored() -> None:
    assert dnswire.parse_query(b"\x00" * 5) is None
    assert dnswire.parse_query(b"\x12\x34\x81\x80" + b"\x00" * 8) is None  # a response
    assert dnswire.parse_query(b"\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00\x3fab") is None
    # a name of 300 octets (found by the fuzz test below: dnspython refused the answer)
    long_name = b"\x01a" * 150 + b"\x00\x00\x01\x00\x01"
    assert dnswire.parse_query(b"\x12\x34\x01\x00\x00\x01" + b"\x00" * 6 + long_name) is None


FUZZ_QUERY = dns.message.make_query("abs.twimg.com", "A").to_wire()


@pytest.mark.fuzz
@given(st.binary(max_size=600) | mutated(FUZZ_QUERY))
def test_any_datagram_is_a_query_or_ignored(data: bytes) -> None:
    q = dnswire.parse_query(data)
    if q is None:
        return
    # whatever it read, the resolver's answer to it is a DNS message dnspython reads
    for rcode in (dnswire.NOERROR, dnswire.NXDOMAIN):
        resp = dns.message.from_wire(dnswire.response(q, rcode, ["127.10.0.1"]))
        assert resp.id == q.id and resp.rcode() == rcode
