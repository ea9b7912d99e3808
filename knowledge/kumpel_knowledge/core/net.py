"""Who is calling: the client's address, reading ``X-Forwarded-For`` only from trusted proxies.

Any client can send an ``X-Forwarded-For`` header, so it says something only when the peer that
sent it is one of our own proxies (``KUMPEL_TRUSTED_PROXIES``). Each proxy appends the address it
saw, so the header is read from the right: the first address that is not a trusted proxy is the
client. Everything left of it was written by the client itself and could be forged.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Sequence

from starlette.requests import Request

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

UNKNOWN_CLIENT = "unknown"


def parse_networks(value: str) -> tuple[IPNetwork, ...]:
    """The addresses and networks of a comma or space separated list (``10.0.0.0/8, 192.0.2.7``).

    Raises:
        ValueError: naming the first entry that is neither an IP address nor a CIDR network.
    """
    networks: list[IPNetwork] = []
    for item in value.replace(",", " ").split():
        try:
            networks.append(ipaddress.ip_network(item, strict=False))
        except ValueError:
            raise ValueError(f"{item!r} is not an IP address or CIDR network (e.g. 10.0.0.0/8)") from None
    return tuple(networks)


def _as_address(text: str) -> IPAddress | None:
    """An address from a peer or header entry; tolerates ``[v6]:port``, ``v4:port`` and IPv4-mapped v6."""
    text = text.strip()
    if text.startswith("["):
        text = text[1:].split("]", 1)[0]
    elif text.count(":") == 1:
        text = text.split(":", 1)[0]
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def _is_trusted(address: IPAddress | None, trusted: Iterable[IPNetwork]) -> bool:
    return address is not None and any(address.version == net.version and address in net for net in trusted)


def client_address(request: Request, trusted: Sequence[IPNetwork]) -> str:
    """The address of the client behind this request, for rate limits (never logged or stored).

    Without trusted proxies, or when the peer is not one of them, the peer's own address: a
    forged header changes nothing. From a trusted proxy, the right-most ``X-Forwarded-For`` entry
    that is not a trusted proxy; should a proxy have written something that is not an address, the
    last trusted hop stands in for it (grouping such requests instead of letting them pick a key).
    """
    peer = request.client.host if request.client else UNKNOWN_CLIENT
    peer_address = _as_address(peer)
    if not trusted or not _is_trusted(peer_address, trusted):
        return str(peer_address) if peer_address is not None else peer
    nearest = str(peer_address)
    hops = [hop for header in request.headers.getlist("x-forwarded-for") for hop in header.split(",")]
    for hop in reversed(hops):
        address = _as_address(hop)
        if address is None:
            return nearest
        if not _is_trusted(address, trusted):
            return str(address)
        nearest = str(address)
    return nearest  # every hop is a proxy of ours: the left-most one is as close as we get


def cors_headers(request: Request, allowed_origins: Iterable[str]) -> dict[str, str]:
    """CORS headers for a page of the town's own site (``KUMPEL_CORS_ORIGINS``); none for other origins."""
    origin = request.headers.get("origin", "").rstrip("/")
    if origin and origin in allowed_origins:
        return {"Access-Control-Allow-Origin": origin, "Vary": "Origin"}
    return {}
