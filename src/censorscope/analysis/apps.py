"""What an OONI app test's keys say (telegram, signal, whatsapp, facebook_messenger, tor,
vanilla_tor, torsf, dnscheck): which of the endpoints the app needs failed, and how, as the
features the verdict table's app.* rules read. Pure; wire.ooni.app_keys keeps the keys.
"""

from __future__ import annotations

from typing import Any

_FAILURE_METHOD = (
    ("dns_", "dns"),
    ("ssl_", "tls"),
    ("connection_refused", "tcp_ip"),
    ("connection_reset", "tcp_ip"),
    ("generic_timeout_error", "tcp_ip"),
    ("eof_error", "tls"),
)


def failure_method(failure: Any, default: str = "http-failure") -> str:
    """The method a failure string points at when nothing else says where it happened
    (the keys are as the file had them: a failure that is no string points nowhere)."""
    for prefix, method in _FAILURE_METHOD:
        if isinstance(failure, str) and failure.startswith(prefix):
            return method
    return default


def app_state(test_name: str, keys: dict[str, Any]) -> dict[str, Any]:
    """{"state": ok | blocked | partial | failed | unjudged, "method", "parts", "why"} from
    the keys wire.ooni.app_keys kept."""
    reader = _APPS.get(test_name)
    if reader is None:
        return {"state": "unjudged", "why": f"censorscope does not judge {test_name}"}
    return reader(keys)


def _telegram(keys: dict[str, Any]) -> dict[str, Any]:
    if "telegram_tcp_blocking" not in keys:
        return {"state": "unjudged", "why": "no telegram_tcp_blocking key"}
    parts = {
        "app endpoints (TCP)": bool(keys.get("telegram_tcp_blocking")),
        "app endpoints (HTTP)": bool(keys.get("telegram_http_blocking")),
        "web.telegram.org": keys.get("telegram_web_status") == "blocked",
    }
    blocked = [p for p, b in parts.items() if b]
    method = (
        "tcp_ip"
        if parts["app endpoints (TCP)"]
        else failure_method(keys.get("telegram_web_failure"))
    )
    return _state(blocked, len(parts), method)


def _signal(keys: dict[str, Any]) -> dict[str, Any]:
    status = keys.get("signal_backend_status")
    if status not in ("ok", "blocked", "blocking"):
        return {"state": "unjudged", "why": "no signal_backend_status"}
    blocked = [] if status == "ok" else ["backend"]
    return _state(blocked, 1, failure_method(keys.get("signal_backend_failure")))


def _whatsapp(keys: dict[str, Any]) -> dict[str, Any]:
    if "registration_server_status" not in keys:
        return {"state": "unjudged", "why": "no registration_server_status"}
    parts = {
        "registration": keys.get("registration_server_status") == "blocked",
        "chat endpoints": keys.get("whatsapp_endpoints_status") == "blocked",
        # an unexpected status code from web.whatsapp.com is the service changing its
        # answers, not a censor (OONI dropped this check for that reason)
        "web.whatsapp.com": keys.get("whatsapp_web_status") == "blocked"
        and keys.get("whatsapp_web_failure") != "http_unexpected_status_code",
    }
    blocked = [p for p, b in parts.items() if b]
    failure = keys.get("registration_server_failure") or keys.get("whatsapp_web_failure")
    method = "tcp_ip" if parts["chat endpoints"] else failure_method(failure)
    return _state(blocked, len(parts), method)


def _messenger(keys: dict[str, Any]) -> dict[str, Any]:
    if "facebook_tcp_blocking" not in keys and "facebook_dns_blocking" not in keys:
        return {"state": "unjudged", "why": "no facebook_*_blocking keys"}
    dns, tcp = bool(keys.get("facebook_dns_blocking")), bool(keys.get("facebook_tcp_blocking"))
    blocked = [p for p, b in (("DNS", dns), ("TCP", tcp)) if b]
    return _state(blocked, 2, "dns" if dns else "tcp_ip")


def _tor(keys: dict[str, Any]) -> dict[str, Any]:
    failures = keys.get("targets") or []
    if not failures:
        return {"state": "unjudged", "why": "no targets"}
    failed = [f for f in failures if f]
    if len(failed) == len(failures):
        return _state(
            [f"all {len(failures)} Tor targets"],
            len(failures),
            failure_method(failed[0], "tcp_ip"),
        )
    if failed:
        return {
            "state": "partial",
            "parts": [f"{len(failed)} of {len(failures)} Tor targets failed"],
            "why": "some relays or bridges unreachable: relays go down, this alone is no block",
        }
    return {"state": "ok", "parts": []}


def _bootstrap(keys: dict[str, Any]) -> dict[str, Any]:
    if keys.get("success") is True or (keys.get("failure") is None and "failure" in keys):
        return {"state": "ok", "parts": []}
    return {
        "state": "failed",
        "parts": [str(keys.get("failure"))],
        "why": "the bootstrap failed; with no control, a block cannot be told from a bad network",
    }


def _dnscheck(keys: dict[str, Any]) -> dict[str, Any]:
    lookups = keys.get("lookups") or {}
    ok = any(failure is None for failure in lookups.values())
    if not keys.get("bootstrap_failure") and ok:
        return {"state": "ok", "parts": []}
    return {
        "state": "failed",
        "parts": [str(keys.get("bootstrap_failure") or "every lookup failed")],
        "why": "the resolver failed; with no control, a block cannot be told from an outage",
    }


def _state(blocked: list[str], total: int, method: str) -> dict[str, Any]:
    if not blocked:
        return {"state": "ok", "parts": []}
    return {"state": "blocked", "parts": blocked, "method": method, "of": total}


_APPS = {
    "telegram": _telegram,
    "signal": _signal,
    "whatsapp": _whatsapp,
    "facebook_messenger": _messenger,
    "tor": _tor,
    "vanilla_tor": _bootstrap,
    "torsf": _bootstrap,
    "dnscheck": _dnscheck,
}
