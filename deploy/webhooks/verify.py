"""Check an IOC alert webhook on the receiving side: signed by us, and sent just now.

Each notification carries `X-IOC-Signature-Timestamp` (unix seconds) and
`X-IOC-Signature-Timestamped: sha256=<HMAC-SHA256 of "<timestamp>:<body>">`; refusing a
timestamp older than a few minutes means a captured notification cannot be replayed.
Usage: verify(secret, headers, raw_body) with the exact bytes received, before parsing them.
"""

import hashlib
import hmac
import time

MAX_AGE_S = 300  # also allows this much clock difference between sender and receiver


def verify(secret: bytes, headers: dict[str, str], body: bytes, now: float | None = None) -> bool:
    stamp = headers.get("X-IOC-Signature-Timestamp", "")
    given = headers.get("X-IOC-Signature-Timestamped", "")
    if not stamp.isdigit() or abs((now or time.time()) - int(stamp)) > MAX_AGE_S:
        return False  # missing, or too old (a replay) or from a clock far off
    mac = hmac.new(secret, stamp.encode() + b":" + body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(given, "sha256=" + mac)  # constant time
