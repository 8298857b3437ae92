"""Header names: canonical spellings, compact forms (RFC 3261 §7.3.3) and which headers carry
comma-separated lists (§7.3.1)."""

from __future__ import annotations

CANONICAL: dict[str, str] = {
    name.lower(): name
    for name in (
        "Accept",
        "Accept-Contact",
        "Accept-Encoding",
        "Accept-Language",
        "Alert-Info",
        "Allow",
        "Allow-Events",
        "Authentication-Info",
        "Authorization",
        "Call-ID",
        "Call-Info",
        "Contact",
        "Content-Disposition",
        "Content-Encoding",
        "Content-Language",
        "Content-Length",
        "Content-Type",
        "CSeq",
        "Date",
        "Error-Info",
        "Event",
        "Expires",
        "Flow-Timer",
        "From",
        "History-Info",
        "Identity",
        "Identity-Info",
        "In-Reply-To",
        "Max-Forwards",
        "Min-Expires",
        "Min-SE",
        "MIME-Version",
        "Organization",
        "P-Asserted-Identity",
        "P-Associated-URI",
        "P-Preferred-Identity",
        "Path",
        "Priority",
        "Privacy",
        "Proxy-Authenticate",
        "Proxy-Authorization",
        "Proxy-Require",
        "RAck",
        "Reason",
        "Record-Route",
        "Refer-To",
        "Referred-By",
        "Reject-Contact",
        "Replaces",
        "Reply-To",
        "Request-Disposition",
        "Require",
        "Retry-After",
        "Route",
        "RSeq",
        "Security-Client",
        "Security-Server",
        "Security-Verify",
        "Server",
        "Service-Route",
        "Session-Expires",
        "SIP-ETag",
        "SIP-If-Match",
        "Subject",
        "Subscription-State",
        "Supported",
        "Timestamp",
        "To",
        "Unsupported",
        "User-Agent",
        "Via",
        "Warning",
        "WWW-Authenticate",
    )
}

# Compact forms: RFC 3261 §7.3.3 and the RFCs that added more (3265, 3515, 3841, 3892, 4028,
# 4474).
COMPACT: dict[str, str] = {
    "a": "accept-contact",
    "b": "referred-by",
    "c": "content-type",
    "d": "request-disposition",
    "e": "content-encoding",
    "f": "from",
    "i": "call-id",
    "j": "reject-contact",
    "k": "supported",
    "l": "content-length",
    "m": "contact",
    "n": "identity-info",
    "o": "event",
    "r": "refer-to",
    "s": "subject",
    "t": "to",
    "u": "allow-events",
    "v": "via",
    "x": "session-expires",
    "y": "identity",
}

# Headers whose values may be combined into one line separated by commas (§7.3.1). The
# authentication headers and Date, whose values contain commas of their own, are not lists.
LIST_HEADERS = frozenset(
    {
        "accept",
        "accept-encoding",
        "accept-language",
        "alert-info",
        "allow",
        "allow-events",
        "call-info",
        "contact",
        "content-encoding",
        "content-language",
        "error-info",
        "in-reply-to",
        "path",
        "proxy-require",
        "record-route",
        "require",
        "route",
        "supported",
        "unsupported",
        "via",
        "warning",
        "history-info",
        "p-asserted-identity",
        "reason",
        "accept-contact",
        "reject-contact",
        "request-disposition",
        "privacy",
        "accept-resource-priority",
        "feature-caps",
        "geolocation",
        "p-associated-uri",
        "p-preferred-identity",
        "recv-info",
        "resource-priority",
        "security-client",
        "security-server",
        "security-verify",
        "service-route",
    }
)


# Header names as written, to their keys: the same few spellings come in every message.
_KEYS: dict[str, str] = {}
_MAX_KEYS = 4096  # names are chosen by peers: a bound, so invented names cannot grow it


def header_key(name: str) -> str:
    """The lookup key of a header name as written on the wire: lower case, long form."""
    key = _KEYS.get(name)
    if key is None:
        lower = name.lower()
        key = COMPACT.get(lower, lower)
        if len(_KEYS) < _MAX_KEYS:
            _KEYS[name] = key
    return key


def canonical_name(key: str) -> str:
    """How we write a header we add ourselves."""
    name = CANONICAL.get(key)
    if name is not None:
        return name
    return "-".join(part.capitalize() for part in key.split("-"))
