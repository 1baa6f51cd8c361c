"""RFC 3161 timestamp countersignatures, verified with rfc3161-client against a TSA trust store.

notation stores the bare TimeStampToken; rfc3161-client reads a TimeStampResp, so the token is
wrapped in one (status `granted`) before it is decoded. rfc3161-client also insists on DER, while
real TSAs (Microsoft's, GlobalSign's) send the token's certificate SET in arbitrary order, which
notation accepts after a BER-to-DER conversion; the set, which the CMS signature does not cover, is
put in DER order here. Both are a few lines over a definite-length TLV walk, written here because no
maintained library gates already depends on re-encodes a CMS structure. The message imprint is the
hash of the envelope's signature bytes; the TSA's chain must reach one of the roots, at the time the
token states.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from gates.notation.errors import NotationError

if TYPE_CHECKING:
    from cryptography.x509 import Certificate


class TimestampError(NotationError):
    """A countersignature that does not parse or does not verify."""


@dataclass(frozen=True)
class Timestamp:
    """When a TSA saw the signature: `time` plus or minus `accuracy`."""

    time: dt.datetime
    accuracy: dt.timedelta
    authority: str
    """The TSA certificate's subject."""

    @property
    def earliest(self) -> dt.datetime:
        return self.time - self.accuracy

    @property
    def latest(self) -> dt.datetime:
        return self.time + self.accuracy


def read_timestamp(token: bytes) -> tuple[dt.datetime, dt.timedelta]:
    """The time and accuracy a token states, unverified (for display); `TimestampError` if it does not parse."""
    from rfc3161_client import decode_timestamp_response

    try:
        info = decode_timestamp_response(_as_response(token)).tst_info
    except (ValueError, TypeError):
        raise TimestampError("the timestamp countersignature does not parse as an RFC 3161 token") from None
    return _aware(info.gen_time), _accuracy(info)


def verify_timestamp(token: bytes, signature: bytes, roots: Sequence[Certificate]) -> Timestamp:
    """The verified time of `token` over `signature`; raises `TimestampError` saying why not."""
    from cryptography import x509
    from rfc3161_client import VerificationError, VerifierBuilder, decode_timestamp_response

    try:
        response = decode_timestamp_response(_as_response(token))
        info = response.tst_info
    except (ValueError, TypeError):
        raise TimestampError("the timestamp countersignature does not parse as an RFC 3161 token") from None
    if not roots:
        raise TimestampError("no TSA root certificates to verify the timestamp countersignature with")
    builder = VerifierBuilder()
    for root in dict.fromkeys(roots):  # the builder refuses a root twice (two files of one store may hold it)
        builder = builder.add_root_certificate(root)
    try:
        builder.build().verify_message(response, signature)
    except VerificationError as exc:
        raise TimestampError(f"the timestamp countersignature does not verify: {_short(str(exc))}") from None
    except (ValueError, TypeError) as exc:
        raise TimestampError(f"the timestamp countersignature does not verify: {_short(str(exc))}") from None
    signer = next(iter(response.signed_data.signer_infos), None)
    authority = ""
    for der in response.signed_data.certificates:
        try:
            cert = x509.load_der_x509_certificate(der)
            if signer is not None and cert.issuer == signer.issuer and cert.serial_number == signer.serial_number:
                authority = cert.subject.rfc4514_string()[:200]
        except (ValueError, TypeError):
            continue  # only names the TSA in messages; the token's signature is already verified
    return Timestamp(_aware(info.gen_time), _accuracy(info), authority)


def _aware(when: dt.datetime) -> dt.datetime:
    return when if when.tzinfo is not None else when.replace(tzinfo=dt.timezone.utc)


def _accuracy(info: Any) -> dt.timedelta:
    try:
        acc = info.accuracy
        return dt.timedelta(seconds=acc.seconds or 0, milliseconds=acc.millis or 0, microseconds=acc.micros or 0)
    except (ValueError, AttributeError, TypeError):
        return dt.timedelta()  # no accuracy stated: the time is taken as exact


def _short(text: str) -> str:
    """rfc3161-client's message without OpenSSL's error stack: its last reason (and data), one line."""
    if "Mismatch between messages" in text:
        return "its message imprint is not the hash of this signature"
    reasons = re.findall(r'reason: "([^"]*)"', text)
    data = re.findall(r'data: "([^"]*)"', text)
    if reasons:
        return f"{text.partition(':')[0]}: {reasons[-1]}" + (f" ({data[-1]})" if data else "")
    return " ".join(text.split())[:300]


def _as_response(token: bytes) -> bytes:
    """TimeStampResp ::= SEQUENCE { status PKIStatusInfo (granted), timeStampToken }, in DER."""
    status = b"\x30\x03\x02\x01\x00"
    token = _certificates_in_der_order(token)
    return b"\x30" + _length(len(status) + len(token)) + status + token


def _certificates_in_der_order(token: bytes) -> bytes:
    """The token with SignedData's `certificates [0] SET OF` sorted as DER requires; else unchanged."""
    try:
        tag, body, end = _tlv(token, 0)
        if tag != 0x30 or end != len(token):
            return token
        _, _, oid_end = _tlv(token, body)  # contentType
        tag, content, _ = _tlv(token, oid_end)  # [0] EXPLICIT content
        if tag != 0xA0:
            return token
        tag, signed_data, _ = _tlv(token, content)
        if tag != 0x30:
            return token
        position = signed_data
        for _ in range(3):  # version, digestAlgorithms, encapContentInfo
            _, _, position = _tlv(token, position)
        tag, certs_body, certs_end = _tlv(token, position)
        if tag != 0xA0:
            return token
        elements: list[bytes] = []
        cursor = certs_body
        while cursor < certs_end:
            _, _, after = _tlv(token, cursor)
            elements.append(token[cursor:after])
            cursor = after
        ordered = b"".join(sorted(elements))
        if ordered == token[certs_body:certs_end]:
            return token
        # same lengths, so every enclosing length stays as it is
        return token[:certs_body] + ordered + token[certs_end:]
    except (IndexError, ValueError):
        return token  # the decoder says what is wrong with it


def _tlv(data: bytes, offset: int) -> tuple[int, int, int]:
    """(tag, start of value, end of value) of the DER element at `offset`; single-byte tags only."""
    tag = data[offset]
    first = data[offset + 1]
    if first < 0x80:
        start, length = offset + 2, first
    else:
        count = first & 0x7F
        if count == 0 or count > 4:
            raise ValueError("indefinite or oversized length")
        start = offset + 2 + count
        length = int.from_bytes(data[offset + 2:start], "big")
    end = start + length
    if end > len(data):
        raise ValueError("truncated")
    return tag, start, end


def _length(n: int) -> bytes:
    if n < 0x80:
        return bytes([n])
    raw = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([0x80 | len(raw)]) + raw
