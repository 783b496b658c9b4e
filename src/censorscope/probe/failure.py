"""Normalising exceptions into OONI's failure strings (spec df-007-errors).

The probe records these strings; users never see a traceback.
"""

from __future__ import annotations

import asyncio
import errno
import socket
import ssl

# OpenSSL X509 verify codes
_UNKNOWN_AUTHORITY = {2, 18, 19, 20, 21, 27}
_INVALID_HOSTNAME = {62}


def failure_string(exc: BaseException) -> str:
    if isinstance(exc, TimeoutError | asyncio.TimeoutError):
        return "generic_timeout_error"
    if isinstance(exc, ssl.SSLCertVerificationError):
        code = getattr(exc, "verify_code", 0)
        if code in _UNKNOWN_AUTHORITY:
            return "ssl_unknown_authority"
        if code in _INVALID_HOSTNAME or "hostname" in str(exc).lower():
            return "ssl_invalid_hostname"
        return "ssl_invalid_certificate"
    if isinstance(exc, ssl.SSLEOFError | asyncio.IncompleteReadError | EOFError):
        return "eof_error"
    if isinstance(exc, ConnectionResetError):
        return "connection_reset"
    if isinstance(exc, ConnectionRefusedError):
        return "connection_refused"
    if isinstance(exc, ConnectionAbortedError | BrokenPipeError):
        return "eof_error"
    if isinstance(exc, ssl.SSLError):
        if "UNEXPECTED_EOF" in str(exc) or "EOF" in str(exc):
            return "eof_error"
        return "ssl_failed_handshake"
    if isinstance(exc, socket.gaierror):
        if exc.errno in (socket.EAI_NONAME, getattr(socket, "EAI_NODATA", -5)):
            return "dns_nxdomain_error"
        return "dns_server_failure"
    if isinstance(exc, OSError):
        return {
            errno.ECONNRESET: "connection_reset",
            errno.ECONNREFUSED: "connection_refused",
            errno.EHOSTUNREACH: "host_unreachable",
            errno.ENETUNREACH: "network_unreachable",
            errno.ETIMEDOUT: "generic_timeout_error",
            errno.EPIPE: "eof_error",
        }.get(exc.errno or 0, f"unknown_failure: {exc.strerror or exc}")
    return f"unknown_failure: {type(exc).__name__}: {exc}"
