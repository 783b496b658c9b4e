"""How DPIs recognise QUIC. Pure.

Two kinds of censor:
- The TSPU (CP-TSPU, reported 2022-03-04) drops UDP datagrams to port 443 whose payload
  is 1,001 bytes or more and whose bytes 1-4 are 00 00 00 01 (the version field of a QUIC
  version 1 long header, as in an Initial), unless the source port is 443. It reads
  nothing else: `tspu_drops`.
- A DPI that decrypts the client's Initial packets (their keys derive from the
  connection ID in clear, RFC 9001 5.2) reads the SNI of the ClientHello inside and
  applies its SNI rules, as the GFW has done since 2024: `InitialReader`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from cryptography.hazmat.primitives import hashes, hmac
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from censorscope.wire.clienthello import Hello, NotTls, Truncated, parse_sni

QUIC_V1 = b"\x00\x00\x00\x01"
MIN_INITIAL = 1001  # clients pad Initials to 1,200 bytes (RFC 9000 14.1); the TSPU's cut
INITIAL_SALT_V1 = bytes.fromhex("38762cf7f55934b34d179ae6a4c80cadccbb7f0a")
MAX_CRYPTO = 16384  # a ClientHello longer than this is not worth buffering
MAX_DATAGRAMS = 4  # Initials a DPI reads before giving up on a flow


MAX_CID = 20  # bytes of a connection ID in QUIC version 1 (RFC 9000 17.2)


def is_v1_initial(payload: bytes) -> bool:
    """A QUIC version 1 long-header Initial packet (RFC 9000 17.2.2)."""
    return len(payload) >= 5 and payload[0] & 0xF0 == 0xC0 and payload[1:5] == QUIC_V1


def tspu_drops(payload: bytes, src_port: int, dst_port: int) -> bool:
    """Would the TSPU drop this datagram? It looks only at the size and bytes 1-4."""
    return (
        dst_port == 443
        and src_port != 443
        and len(payload) >= MIN_INITIAL
        and payload[1:5] == QUIC_V1
    )


@dataclass(frozen=True, slots=True)
class InitialKeys:
    key: bytes
    iv: bytes
    hp: bytes


def _expand_label(secret: bytes, label: str, length: int) -> bytes:
    """HKDF-Expand-Label of TLS 1.3 (RFC 8446 7.1) with an empty context."""
    full = b"tls13 " + label.encode()
    info = length.to_bytes(2, "big") + bytes([len(full)]) + full + b"\x00"
    out, block, i = b"", b"", 1
    while len(out) < length:
        h = hmac.HMAC(secret, hashes.SHA256())
        h.update(block + info + bytes([i]))
        block = h.finalize()
        out += block
        i += 1
    return out[:length]


def client_initial_keys(dcid: bytes) -> InitialKeys:
    """The keys protecting a client's Initial packets (RFC 9001 5.2): anyone on the path
    can derive them from the Destination Connection ID."""
    h = hmac.HMAC(INITIAL_SALT_V1, hashes.SHA256())
    h.update(dcid)
    client = _expand_label(h.finalize(), "client in", 32)
    return InitialKeys(
        _expand_label(client, "quic key", 16),
        _expand_label(client, "quic iv", 12),
        _expand_label(client, "quic hp", 16),
    )


class NotInitial(ValueError):
    """The bytes are not a client's QUIC v1 Initial this reader can open."""


def _varint(data: bytes, pos: int) -> tuple[int, int]:
    if pos >= len(data):
        raise NotInitial("truncated variable-length integer")
    first = data[pos]
    size = 1 << (first >> 6)
    if pos + size > len(data):
        raise NotInitial("truncated variable-length integer")
    value = first & 0x3F
    for b in data[pos + 1 : pos + size]:
        value = (value << 8) | b
    return value, pos + size


def open_initial(datagram: bytes) -> tuple[bytes, bytes]:
    """(destination connection ID, decrypted payload) of the first packet of a datagram,
    which must be a client's version 1 Initial. Raises NotInitial."""
    if not is_v1_initial(datagram):
        raise NotInitial("not a QUIC version 1 Initial")
    pos = 5
    if pos >= len(datagram):
        raise NotInitial("truncated header")
    dcid_len = datagram[pos]
    if dcid_len > MAX_CID:
        raise NotInitial(f"a connection ID of {dcid_len} bytes (at most {MAX_CID} in v1)")
    dcid = datagram[pos + 1 : pos + 1 + dcid_len]
    pos += 1 + dcid_len
    if pos >= len(datagram):
        raise NotInitial("truncated header")
    pos += 1 + datagram[pos]  # source connection ID
    token_len, pos = _varint(datagram, pos)
    pos += token_len
    length, pn_offset = _varint(datagram, pos)
    end = pn_offset + length
    if end > len(datagram) or length < 20:
        raise NotInitial("packet shorter than its length field")
    keys = client_initial_keys(dcid)
    sample = datagram[pn_offset + 4 : pn_offset + 20]
    encryptor = Cipher(algorithms.AES(keys.hp), modes.ECB()).encryptor()
    mask = encryptor.update(sample) + encryptor.finalize()
    first = datagram[0] ^ (mask[0] & 0x0F)
    pn_len = (first & 0x03) + 1
    pn_bytes = bytes(
        b ^ m
        for b, m in zip(datagram[pn_offset : pn_offset + pn_len], mask[1 : 1 + pn_len], strict=True)
    )
    header = bytes([first]) + datagram[1:pn_offset] + pn_bytes
    nonce = (int.from_bytes(keys.iv, "big") ^ int.from_bytes(pn_bytes, "big")).to_bytes(12, "big")
    try:
        payload = AESGCM(keys.key).decrypt(nonce, datagram[pn_offset + pn_len : end], header)
    except Exception as exc:  # noqa: BLE001 - cryptography's InvalidTag and friends
        raise NotInitial(f"does not decrypt with the Initial keys ({type(exc).__name__})") from None
    return dcid, payload


def crypto_frames(payload: bytes) -> list[tuple[int, bytes]]:
    """(offset, data) of each CRYPTO frame in an Initial's payload (RFC 9000 19.6), which
    may also hold PADDING, PING, ACK and CONNECTION_CLOSE frames."""
    out: list[tuple[int, bytes]] = []
    pos = 0
    while pos < len(payload):
        kind, pos = _varint(payload, pos)
        if kind == 0x00 or kind == 0x01:  # PADDING, PING
            continue
        if kind in (0x02, 0x03):  # ACK
            _, pos = _varint(payload, pos)
            _, pos = _varint(payload, pos)
            count, pos = _varint(payload, pos)
            _, pos = _varint(payload, pos)
            for _ in range(2 * count + (3 if kind == 0x03 else 0)):
                _, pos = _varint(payload, pos)
        elif kind == 0x06:
            offset, pos = _varint(payload, pos)
            size, pos = _varint(payload, pos)
            if pos + size > len(payload):
                raise NotInitial("CRYPTO frame runs past the packet")
            out.append((offset, payload[pos : pos + size]))
            pos += size
        elif kind in (0x1C, 0x1D):  # CONNECTION_CLOSE
            break
        else:
            raise NotInitial(f"frame type {kind:#x} cannot be in an Initial")
    return out


@dataclass(slots=True)
class InitialReader:
    """Reads the SNI from a flow's first client datagrams, joining CRYPTO frames across
    packets (a large ClientHello, or one whose frames a client reorders, spans several).

    feed() answers Hello (with the SNI, or None), Truncated (give it the next datagram)
    or NotTls (this flow is not a QUIC v1 connection it can read, or it gave up)."""

    dcid: bytes | None = None
    chunks: dict[int, bytes] = field(default_factory=dict)
    datagrams: int = 0

    def feed(self, datagram: bytes) -> Hello | Truncated | NotTls:
        self.datagrams += 1
        if self.datagrams > MAX_DATAGRAMS:
            return NotTls()
        try:
            dcid, payload = open_initial(datagram)
            frames = crypto_frames(payload)
        except NotInitial:
            return NotTls()
        if self.dcid is not None and dcid != self.dcid:
            return NotTls()
        self.dcid = dcid
        for offset, data in frames:
            if offset + len(data) <= MAX_CRYPTO:
                self.chunks[offset] = data
        stream = b""
        while len(stream) in self.chunks:
            piece = self.chunks[len(stream)]
            if not piece:
                break
            stream += piece
        if len(stream) < 4:
            return Truncated(needed=4)
        # CRYPTO carries handshake messages without TLS records; give the parser one
        record = b"\x16\x03\x01" + min(len(stream), 0xFFFF).to_bytes(2, "big") + stream
        result = parse_sni(record)
        if isinstance(result, Truncated) and self.datagrams >= MAX_DATAGRAMS:
            return NotTls()
        return result
