from censorscope.quic import is_v1_initial, tspu_drops


def initial(size: int, version: bytes = b"\x00\x00\x00\x01") -> bytes:
    return b"\xc3" + version + b"\x08" + b"\x11" * 8 + b"\x00" * (size - 14)


def test_tspu_drops_big_v1_initials_to_443() -> None:
    assert is_v1_initial(initial(1200))
    assert tspu_drops(initial(1200), 50000, 443)
    assert tspu_drops(initial(1001), 50000, 443)


def test_tspu_lets_the_rest_through() -> None:
    assert not tspu_drops(initial(1000), 50000, 443)  # too small
    assert not tspu_drops(initial(1200), 443, 443)  # from source port 443
    assert not tspu_drops(initial(1200), 50000, 8443)  # not to 443
    assert not tspu_drops(initial(1200, b"\x6b\x33\x43\xcf"), 50000, 443)  # QUIC v2
    assert not is_v1_initial(b"\x40" + b"\x00" * 1200)  # a short header
