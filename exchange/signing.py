"""Binance's request signature: HMAC-SHA256 of the request's parameters, keyed with the API secret.

Consumes the raw query string and body of a request as sent; produces the hex signature and the
check of the one a request carries. Binance signs `totalParams`, the query string followed directly by
the body, without the `signature` parameter itself (python-binance puts it last). The executor's
client (python-binance) signs its own requests; the double verifies them with this.
"""

from __future__ import annotations

import hashlib
import hmac
from urllib.parse import parse_qsl


def sign(secret: str, total_params: str) -> str:
    return hmac.new(secret.encode(), total_params.encode(), hashlib.sha256).hexdigest()


def split_signature(query: str, body: str) -> tuple[str, str | None]:
    """(`totalParams` without the signature, the signature given or None)."""
    given = None
    parts = []
    for text in (query, body):
        kept = []
        for pair in text.split("&") if text else []:
            if pair.startswith("signature="):
                given = pair[len("signature=") :]
            else:
                kept.append(pair)
        parts.append("&".join(kept))
    return "".join(parts), given


def verified(secret: str, query: str, body: str) -> bool:
    """Whether the request's signature is the one `secret` gives its parameters."""
    total, given = split_signature(query, body)
    return given is not None and hmac.compare_digest(sign(secret, total), given)


def parameters(query: str, body: str) -> dict[str, str]:
    """Every parameter of the request, from its form body and its query string (which wins, as on Binance)."""
    return dict(parse_qsl(body, keep_blank_values=True)) | dict(parse_qsl(query, keep_blank_values=True))
