"""SIP messages, URIs, addresses and digest authentication: pure data and functions."""

from .address import CSeq, NameAddr, Via, parse_cseq, parse_name_addr, parse_via
from .errors import ParseError, SipError
from .framing import PING, PONG, FramingError, StreamFramer
from .message import Message, Request, Response, make_response, parse_message
from .status import reason_phrase
from .uri import URI, AbsoluteURI, SipURI, TelURI, parse_sip_uri, parse_uri, uri_equal

__all__ = [
    "PING",
    "PONG",
    "URI",
    "AbsoluteURI",
    "CSeq",
    "FramingError",
    "Message",
    "NameAddr",
    "ParseError",
    "Request",
    "Response",
    "SipError",
    "SipURI",
    "StreamFramer",
    "TelURI",
    "Via",
    "make_response",
    "parse_cseq",
    "parse_message",
    "parse_name_addr",
    "parse_sip_uri",
    "parse_uri",
    "parse_via",
    "reason_phrase",
    "uri_equal",
]
