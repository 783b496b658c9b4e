import dns.message
import dns.rcode

from censorscope.wire import dns as dnswire


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
