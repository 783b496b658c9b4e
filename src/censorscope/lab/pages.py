"""HTTP responses the lab serves: site pages, geo-restriction pages, ISP blockpages. Pure."""

from __future__ import annotations

import html

from censorscope.net.httpserve import response
from censorscope.scenario import Isp, Site


def _html(title: str, text: str) -> bytes:
    t = html.escape(title)
    return (
        f"<!doctype html><html><head><title>{t}</title></head>"
        f"<body><h1>{t}</h1><p>{html.escape(text)}</p></body></html>"
    ).encode()


def site_page(site: Site, host: str) -> bytes:
    text = f"Welcome to {site.title} at {host}. " + "Lorem ipsum dolor sit amet. " * 40
    return response(200, _html(site.title, text))


def geo_page(site: Site, country: str) -> bytes:
    return response(
        site.geo_status,
        _html(
            f"{site.title}: not available",
            f"This content is not available in your "
            f"country ({country}) at the request of the service.",
        ),
    )


def redirect(location: str) -> bytes:
    return response(302, b"", {"Location": location})


def not_found() -> bytes:
    return response(404, _html("Not Found", "No such site in this lab."))


def blockpage(isp: Isp, host: str) -> bytes:
    """The ISP's blockpage, shaped like the real one so OONI's fingerprints match it."""
    if isp.blockpage_redirect:
        return response(302, b"", {"Location": isp.blockpage_redirect}, keep_alive=False)
    title = isp.blockpage_title or f"{isp.name}: access restricted"
    return response(
        200,
        _html(title, f"Access to {host} is restricted by decision of the authorities."),
        keep_alive=False,
    )
