"""The images the base-image tests push to the real registry: bases and the apps built on them.

Layers hold only the files the gate reads (os-release, debian_version, dpkg/apk databases, passwd), with
real package versions that the OSV records of the shared corpus name: an old Debian 9 base with an
unpatched openssl (DLA-3008-1), a current Debian 13 base (two platforms), a distroless-style Debian 12 base
(`status.d`, epoch `created`, wget with an unfixed advisory), an Alpine 3.22 base whose musl misses a fix
(ALPINE-CVE-2025-26519) and whose os-release is a symlink into usr/lib.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from gates.oci import mediatypes
from gates.oci.client import RegistryClient
from gates.oci.digest import Digest
from gates.oci.manifest import Descriptor, Platform
from gates.oci.reference import Reference, parse_reference
from tests.support.oci_images import (
    EPOCH_CREATED,
    Entry,
    Image,
    file,
    hardlink,
    image,
    index,
    layer,
    push_image,
    push_index,
    symlink,
    whiteout,
)

NOW = "2026-11-24"
"""The date every test judges as of (`--now`)."""

BASE_NAME = "org.opencontainers.image.base.name"
BASE_DIGEST = "org.opencontainers.image.base.digest"


def _dpkg(*entries: tuple[str, str, str | None]) -> str:
    stanzas = []
    for name, version, source in entries:
        lines = [f"Package: {name}", "Status: install ok installed", "Architecture: amd64"]
        if source:
            lines.append(f"Source: {source}")
        lines.append(f"Version: {version}")
        stanzas.append("\n".join(lines) + "\n")
    return "\n".join(stanzas)


def _os_release(pretty: str, os_id: str, version_id: str | None, codename: str | None = None) -> str:
    lines = [f'PRETTY_NAME="{pretty}"', f'NAME="{pretty.split(" ")[0]}"', f"ID={os_id}"]
    if version_id:
        lines.append(f'VERSION_ID="{version_id}"')
    if codename:
        lines.append(f"VERSION_CODENAME={codename}")
    return "\n".join(lines) + "\n"


PASSWD = "root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000::/app:/bin/sh\ntoor:x:0:0::/:/bin/sh\n"

DEBIAN_9 = layer({
    "etc/os-release": _os_release("Debian GNU/Linux 9 (stretch)", "debian", "9", "stretch"),
    "etc/debian_version": "9.11\n",
    "etc/passwd": PASSWD,
    "var/lib/dpkg/status": _dpkg(
        ("libssl1.1", "1.1.0l-1~deb9u5", "openssl"),
        ("openssl", "1.1.0l-1~deb9u5", None),
        ("dpkg", "1.18.26", None),  # exactly the fixed version of DLA-3022-1: not affected
        ("tzdata", "2021a-0+deb9u4", None),
    ),
})

DEBIAN_13 = layer({
    "etc/os-release": _os_release("Debian GNU/Linux 13 (trixie)", "debian", "13", "trixie"),
    "etc/debian_version": "13.6\n",
    "etc/passwd": PASSWD,
    "var/lib/dpkg/status": _dpkg(("wget", "1.25.0-1", None), ("libc6", "2.41-12", "glibc")),
})

DEBIAN_13_REBUILT = layer({
    "etc/os-release": _os_release("Debian GNU/Linux 13 (trixie)", "debian", "13", "trixie"),
    "etc/debian_version": "13.6\n",
    "var/lib/dpkg/status": _dpkg(("wget", "1.25.0-1", None), ("libc6", "2.41-12+deb13u1", "glibc")),
})

DISTROLESS_12 = layer({
    "etc/os-release": 'PRETTY_NAME="Distroless"\nNAME="Debian GNU/Linux"\nID="debian"\nVERSION_ID="12"\n'
                      'VERSION="Debian GNU/Linux 12 (bookworm)"\n',
    "etc/debian_version": "12.15\n",
    "var/lib/dpkg/status.d/base-files": _dpkg(("base-files", "12.4+deb12u11", None)),
    "var/lib/dpkg/status.d/base-files.md5sums": "d41d8cd98f00b204e9800998ecf8427e  etc/issue\n",
    "var/lib/dpkg/status.d/wget": _dpkg(("wget", "1.21.3-1+b2", "wget (1.21.3-1)")),
})

ALPINE_322 = layer([
    Entry("usr/lib/os-release", data=_os_release("Alpine Linux v3.22", "alpine", "3.22.2").encode()),
    symlink("etc/os-release", "../usr/lib/os-release"),
    file("etc/alpine-release", "3.22.2\n"),
    file("lib/apk/db/installed", "C:Q1abc=\nP:musl\nV:1.2.5-r9\nA:x86_64\no:musl\n\n"
                                 "P:busybox\nV:1.37.0-r18\nA:x86_64\no:busybox\n"),
])

APP = layer({"app/main": "#!/bin/sh\necho hello\n"})


@dataclass(frozen=True)
class World:
    """Every image pushed, by role: the references the tests pass to the gate."""

    registry: str
    debian9: str
    debian13: str
    distroless: str
    alpine: str
    app_old: str
    app_current: str
    app_distroless: str
    app_alpine: str
    app_drift: str
    drift_base: str
    traversal: str
    hardlink_escape: str
    symlink_escape: str
    bomb: str
    bad_config: str
    stripped: str
    """Debian 13 whose dpkg database a later layer deleted (as "slim" hardening does)."""
    future_toor: str
    """Built "in 2099", running as `toor`, a name etc/passwd maps to uid 0; based on debian:13 by digest only."""


def ref(text: str) -> Reference:
    return parse_reference(text)


def _on(base: Image, *, created: str, user: str = "1000", annotations: Mapping[str, str] | None = None,
        architecture: str = "amd64") -> Image:
    """An app image: the base's layers plus an app layer."""
    return image([*base.layers, APP], created=created, user=user, annotations=annotations,
                 architecture=architecture)


def _annotated(base_ref: str, digest: Digest) -> dict[str, str]:
    return {BASE_NAME: base_ref, BASE_DIGEST: str(digest)}


def push_raw_config(client: RegistryClient, target: Reference, config: bytes, layers: Sequence[bytes]) -> Digest:
    """An image whose config blob is any bytes at all (e.g. not JSON)."""
    client.put_blob(target, config)
    for blob in layers:
        client.put_blob(target, blob)
    doc = {
        "schemaVersion": 2, "mediaType": mediatypes.OCI_MANIFEST,
        "config": Descriptor(mediatypes.OCI_CONFIG, Digest.of(config), len(config)).to_json(),
        "layers": [Descriptor(mediatypes.OCI_LAYER_GZIP, Digest.of(b), len(b)).to_json() for b in layers],
    }
    return client.put_manifest(target, json.dumps(doc).encode(), mediatypes.OCI_MANIFEST)


def build_world(client: RegistryClient, host: str, prefix: str = "bi") -> World:
    """Push the bases, then the apps built on them, then move the drift base's tag."""
    name = f"{host}/{prefix}"
    debian9 = image([DEBIAN_9], created="2020-03-01T10:00:00Z")
    d9 = f"{name}/debian:9"
    d9_digest = push_image(client, ref(d9), debian9)

    amd = image([DEBIAN_13], created="2026-11-10T08:00:00Z")
    arm = image([DEBIAN_13], created="2026-11-10T08:00:00Z", architecture="arm64")
    d13 = f"{name}/debian:13"
    d13_index = index([(amd, Platform("linux", "amd64")), (arm, Platform("linux", "arm64"))])
    d13_digest = push_index(client, ref(d13), d13_index)

    distroless = image([DISTROLESS_12], created=EPOCH_CREATED, user="65532")
    dl = f"{name}/distroless:12"
    dl_digest = push_image(client, ref(dl), distroless)

    alpine = image([ALPINE_322], created="2026-10-01T00:00:00Z")
    al = f"{name}/alpine:3.22"
    push_image(client, ref(al), alpine)

    app_old = f"{name}/app:old"
    push_image(client, ref(app_old), _on(debian9, created="2026-11-20T00:00:00Z",
                                           annotations=_annotated(d9, d9_digest)))

    app_current = f"{name}/app:current"
    app_amd = _on(amd, created="2026-11-20T00:00:00Z", annotations=_annotated(d13, d13_digest))
    app_arm = _on(arm, created="2026-11-20T00:00:00Z", annotations=_annotated(d13, d13_digest),
                  architecture="arm64")
    push_index(client, ref(app_current), index([(app_amd, Platform("linux", "amd64")),
                                                (app_arm, Platform("linux", "arm64"))]))

    app_distroless = f"{name}/app:distroless"
    push_image(client, ref(app_distroless), _on(distroless, created=EPOCH_CREATED, user="65532",
                                                  annotations=_annotated(dl, dl_digest)))

    app_alpine = f"{name}/app:alpine"  # no annotations: the Dockerfile says what it was built on
    push_image(client, ref(app_alpine), _on(alpine, created="2026-11-20T00:00:00Z", user=""))

    drift_base = f"{name}/debian-drift:13"
    first = image([DEBIAN_13], created="2026-11-01T00:00:00Z")
    first_digest = push_image(client, ref(drift_base), first)
    app_drift = f"{name}/app:drift"
    push_image(client, ref(app_drift), _on(first, created="2026-11-02T00:00:00Z",
                                             annotations=_annotated(drift_base, first_digest)))
    push_image(client, ref(drift_base), image([DEBIAN_13_REBUILT], created="2026-11-15T00:00:00Z"))

    traversal = f"{name}/hostile:traversal"
    push_image(client, ref(traversal), image([DEBIAN_13, layer([file("../../etc/cron.d/evil", "x")])],
                                              user="1000", created="2026-11-20T00:00:00Z"))
    hardlink_escape = f"{name}/hostile:hardlink"
    push_image(client, ref(hardlink_escape), image([layer([hardlink("etc/os-release", "../../etc/os-release")])],
                                                    user="1000", created="2026-11-20T00:00:00Z"))
    symlink_escape = f"{name}/hostile:symlink"
    push_image(client, ref(symlink_escape), image([layer([
        Entry("host/etc/os-release", data=b"ID=gatesos\nVERSION_ID=1\n"),  # where the link lands, in the root
        symlink("etc/os-release", "../../../../../../host/etc/os-release"),
    ])], user="1000", created="2026-11-20T00:00:00Z"))
    bomb = f"{name}/hostile:bomb"
    push_image(client, ref(bomb), image([DEBIAN_13, layer({"var/cache/zeros": b"\0" * (48 * 1024 * 1024)})],
                                        user="1000", created="2026-11-20T00:00:00Z"))
    bad_config = f"{name}/hostile:config"
    push_raw_config(client, ref(bad_config), b"{this is not json", [DEBIAN_13])
    stripped = f"{name}/app:stripped"
    push_image(client, ref(stripped), image([DEBIAN_13, layer([whiteout("var/lib/dpkg/status")])],
                                            user="1000", created="2026-11-20T00:00:00Z"))

    future_toor = f"{name}/app:future"
    push_image(client, ref(future_toor), _on(amd, created="2099-01-01T00:00:00Z", user="toor",
                                               annotations=_annotated(f"{name}/debian@{d13_digest}", d13_digest)))

    return World(
        registry=host, debian9=d9, debian13=d13, distroless=dl, alpine=al, app_old=app_old,
        app_current=app_current, app_distroless=app_distroless, app_alpine=app_alpine, app_drift=app_drift,
        drift_base=drift_base, traversal=traversal, hardlink_escape=hardlink_escape,
        symlink_escape=symlink_escape, bomb=bomb, bad_config=bad_config, stripped=stripped,
        future_toor=future_toor,
    )
