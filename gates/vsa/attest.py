"""`gates attest`: sign the summaries `--output vsa=DIR` wrote, and attach each to its image.

A summary is signed only when it still says what gates wrote: a file named by its digest
(`sha256-<hex>.vsa.json`) holding an in-toto statement of a passing VSA by this verifier, made within
`--max-age`, whose subjects are image names (no tag, no digest) at that digest. Anything else is one
line naming the file, the run fails (exit 1), and the other summaries are still signed. The key (or
the CI's identity token) is loaded first, then every summary is read and checked, and only then does
anything reach the network.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gates import jsonstrict
from gates.config import Config
from gates.errors import InputError, UsageError
from gates.oci.digest import Digest
from gates.vsa.output import FILE_NAME
from gates.vsa.statement import PASSED, PREDICATE_TYPE, STATEMENT_TYPE, encode

MAX_SUMMARY_BYTES = 1024 * 1024
DEFAULT_MAX_AGE = 3600
"""Seconds a summary stays signable: the image gates and `gates attest` run in one pipeline."""
_CLOCK_SKEW = dt.timedelta(minutes=5)


@dataclass(frozen=True)
class Summary:
    """A checked summary: the statement's bytes to sign, and the images it is about."""

    path: Path
    payload: bytes
    names: tuple[str, ...]
    digest: Digest


@dataclass(frozen=True)
class Outcome:
    """One line of `gates attest`'s account: a summary attached to an image, or why not."""

    ok: bool
    line: str


def summary_files(sources: Sequence[Path]) -> list[Path]:
    """The summaries named: files as given, and in folders every `sha256-<hex>.vsa.json` (sorted)."""
    files: list[Path] = []
    for source in sources:
        if source.is_dir():
            files.extend(sorted(p for p in source.iterdir() if FILE_NAME.match(p.name)))
        elif source.exists():
            files.append(source)
        else:
            raise UsageError(f"{str(source)!r}: no such file or directory")
    if not files:
        shown = ", ".join(repr(str(s)) for s in sources)
        raise UsageError(f"no verification summaries in {shown}: the image gates write them with --output vsa=DIR,"
                         " one per image that passed")
    return files


def read_summary(path: Path, verifier: str, now: dt.datetime, max_age: dt.timedelta) -> Summary:
    """The summary at `path`, checked (see the module docstring); `InputError` with one line otherwise."""
    from gates.targets.files import read_regular

    where = repr(str(path))
    if not FILE_NAME.match(path.name):
        raise InputError(f"{where}: not a summary's name (sha256-<hex>.vsa.json, as --output vsa=DIR writes it);"
                         " not signed")
    try:
        data = read_regular(path, MAX_SUMMARY_BYTES)
    except OSError as exc:
        raise InputError(f"{where}: cannot read ({exc.strerror or exc})") from None
    try:
        doc = jsonstrict.loads(data)
    except (ValueError, RecursionError) as exc:
        raise InputError(f"{where}: not a JSON statement ({str(exc).splitlines()[0][:120]})") from None
    problem = _problem(doc, verifier, now, max_age)
    if problem is not None:
        raise InputError(f"{where}: {problem}; not signed")
    hexes = {s["digest"]["sha256"] for s in doc["subject"]}
    if len(hexes) != 1:
        raise InputError(f"{where}: the statement names several digests; gates writes one per file; not signed")
    digest = Digest("sha256", hexes.pop())
    if path.name != f"{digest.tag_form}.vsa.json":
        raise InputError(f"{where}: the statement is about {digest}, not the digest its name says; not signed")
    names = tuple(dict.fromkeys(s["name"] for s in doc["subject"]))
    return Summary(path, encode(doc), names, digest)


def _problem(doc: Any, verifier: str, now: dt.datetime, max_age: dt.timedelta) -> str | None:
    from gates.oci.errors import InvalidReferenceError
    from gates.oci.reference import parse_reference

    if not isinstance(doc, dict) or doc.get("_type") != STATEMENT_TYPE:
        return f"not an in-toto statement ({STATEMENT_TYPE})"
    if doc.get("predicateType") != PREDICATE_TYPE:
        return f"predicate type is not {PREDICATE_TYPE}"
    predicate = doc.get("predicate")
    if not isinstance(predicate, dict):
        return "no predicate"
    if predicate.get("verificationResult") != PASSED:
        return f"verificationResult is not {PASSED}"
    found = predicate.get("verifier", {}).get("id") if isinstance(predicate.get("verifier"), dict) else None
    if found != verifier:
        return f"verifier.id is {str(found)[:120]!r}, expected {verifier!r}"
    when = predicate.get("timeVerified")
    try:
        verified = dt.datetime.strptime(str(when), "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=dt.timezone.utc)
    except ValueError:
        return f"timeVerified {str(when)[:40]!r} is not a UTC time (YYYY-MM-DDTHH:MM:SSZ)"
    if verified > now + _CLOCK_SKEW:
        return f"timeVerified {when} is in the future"
    if now - verified > max_age:
        return (f"verified at {when}, more than {int(max_age.total_seconds())} seconds ago (--max-age): run the"
                " image gates again")
    subjects = doc.get("subject")
    if not isinstance(subjects, list) or not subjects:
        return "no subject"
    for subject in subjects:
        name = subject.get("name") if isinstance(subject, dict) else None
        digests = subject.get("digest") if isinstance(subject, dict) else None
        value = digests.get("sha256") if isinstance(digests, dict) else None
        if not isinstance(name, str) or not isinstance(value, str) or set(digests or ()) != {"sha256"}:
            return "a subject without a name and exactly one sha256 digest"
        try:
            Digest("sha256", value)
            ref = parse_reference(name)
        except InvalidReferenceError as exc:
            return f"subject {name[:120]!r}: {exc}"
        if ref.tag is not None or ref.digest is not None or ref.name != name:
            return f"subject {name[:120]!r} is not an image name as gates writes it (registry/repository)"
    return None


Signer = Callable[[bytes], bytes]
"""Statement bytes -> the Sigstore bundle that signs them."""


def key_signer(key_path: Path, password: bytes | None) -> Signer:
    """Sign with a cosign or PEM private key (loaded now, so a bad key stops the run before the network)."""
    from gates.vsa.dsse import PAYLOAD_TYPE, key_bundle, pae
    from gates.vsa.signing import load_signing_key

    key = load_signing_key(key_path, password)
    return lambda payload: key_bundle(payload, key.sign(pae(PAYLOAD_TYPE, payload)), key.public_der)


def keyless_signer(trust_config: Path | None) -> Signer:
    """Sign with the CI's identity (its token read now, so a job without one stops before anything is read)."""
    from gates.vsa.keyless import ambient_token, sign_keyless

    token = ambient_token()
    return lambda payload: sign_keyless(payload, token, trust_config)


def attest(files: Sequence[Path], sign: Signer, attach: Callable[[str, Digest, bytes], str], verifier: str,
           max_age: dt.timedelta, now: dt.datetime | None = None) -> Iterator[Outcome]:
    """Check every summary first, then sign each and attach it to each image it names."""
    from gates.errors import GatesError

    moment = now or dt.datetime.now(dt.timezone.utc)
    summaries: list[Summary] = []
    for path in files:
        try:
            summaries.append(read_summary(path, verifier, moment, max_age))
        except InputError as exc:
            yield Outcome(False, str(exc))
    for summary in summaries:
        try:
            bundle = sign(summary.payload)
        except UsageError:
            raise
        except GatesError as exc:
            yield Outcome(False, f"{str(summary.path)!r}: {exc}")
            continue
        for name in summary.names:
            try:
                where = attach(name, summary.digest, bundle)
            except GatesError as exc:
                yield Outcome(False, f"{name}@{summary.digest}: the summary was signed but not attached: {exc}")
                continue
            yield Outcome(True, f"{name}@{summary.digest}: verification summary attached as {where}")


def run(sources: Sequence[Path], key: Path | None, keyless: bool, trust_config: Path | None, max_age: int,
        config: Config, environ: Mapping[str, str]) -> Iterator[Outcome]:
    """`gates attest` as the command line asks: the signer chosen and loaded, the registry from `[registry]`."""
    from gates.oci.reference import parse_reference
    from gates.registry_client import client_from_config
    from gates.vsa.attach import attach_bundle
    from gates.vsa.signing import PASSWORD_ENV
    from gates.vsa.statement import verifier_id

    if (key is None) == (not keyless):
        raise UsageError("gates attest signs with --key KEY or --keyless (the CI's OIDC identity): give one")
    if trust_config is not None and not keyless:
        raise UsageError("--trust-config is for --keyless signing")
    verifier = verifier_id(environ)
    if key is not None:
        password = environ.get(PASSWORD_ENV)
        sign = key_signer(key, password.encode("utf-8") if password is not None else None)
    else:
        sign = keyless_signer(trust_config)
    files = summary_files(sources)
    with client_from_config(config) as client:
        def attach(name: str, digest: Digest, bundle: bytes) -> str:
            attached = attach_bundle(client, parse_reference(name).with_digest(digest), bundle, PREDICATE_TYPE)
            how = "listed by the referrers API" if attached.mode == "api" else f"in the tag {digest.tag_form}"
            return f"referrer {attached.referrer} ({how})"

        yield from attest(files, sign, attach, verifier, dt.timedelta(seconds=max_age))
