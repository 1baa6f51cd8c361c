"""Image config and manifest annotations against real configs from containers/image."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from gates.oci.image_config import (
    ANNOTATION_BASE_DIGEST,
    ANNOTATION_BASE_NAME,
    ImageConfigError,
    is_root_user,
    names_a_user,
    parse_image_config,
    parse_manifest_annotations,
    parse_timestamp,
)
from tests.distro.corpus import corpus_path

NOW = dt.datetime(2026, 8, 22, tzinfo=dt.timezone.utc)
DIGEST = "sha256:" + "b" * 64


def test_red_hat_config() -> None:
    config = parse_image_config(corpus_path("extras", "image-config", "schema1-to-schema2-config.json").read_bytes())
    assert config.created.value == dt.datetime(2018, 1, 25, 0, 37, 48, 268558, tzinfo=dt.timezone.utc)
    assert config.created.age_days(NOW) == 3130  # 23 h short of 3131 whole days
    assert config.user == "nova" and not config.runs_as_root
    assert config.labels["build-date"] == "2018-01-25T00:32:27.807261"
    assert config.labels["name"] == "rhosp12/openstack-nova-api"
    assert (config.architecture, config.os) == ("amd64", "linux")


@pytest.mark.parametrize("name", ["oci1-config.json", "oci1-config-extra-fields.json", "schema2-config.json"])
def test_busybox_style_configs_run_as_root(name: str) -> None:
    config = parse_image_config(corpus_path("extras", "image-config", name).read_bytes(), name)
    # nanosecond timestamp 2016-09-23T23:20:45.78976459Z
    assert config.created.value == dt.datetime(2016, 9, 23, 23, 20, 45, 789764, tzinfo=dt.timezone.utc)
    assert config.user == "" and config.runs_as_root
    assert config.labels == {}


@pytest.mark.parametrize("name", ["oci1.json", "schema2.json"])
def test_manifests_without_annotations(name: str) -> None:
    manifest = parse_manifest_annotations(corpus_path("extras", "image-config", name).read_bytes(), name)
    assert manifest.base_name is None and manifest.base_digest is None
    assert manifest.created.unknown_reason == "absent"


def test_annotations_and_label_fallback() -> None:
    manifest = {
        "schemaVersion": 2,
        "annotations": {
            ANNOTATION_BASE_NAME: "docker.io/library/debian:12-slim",
            ANNOTATION_BASE_DIGEST: DIGEST,
            "org.opencontainers.image.created": "2026-08-01T10:00:00+02:00",
        },
    }
    parsed = parse_manifest_annotations(json.dumps(manifest))
    assert parsed.base_name == "docker.io/library/debian:12-slim" and parsed.base_digest == DIGEST
    assert parsed.created.value == dt.datetime(2026, 8, 1, 8, 0, tzinfo=dt.timezone.utc)
    from_labels = parse_manifest_annotations({}, labels={ANNOTATION_BASE_NAME: "alpine:3.19"})
    assert from_labels.base_name == "alpine:3.19"


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ("1970-01-01T00:00:00Z", "zero or epoch date (reproducible build)"),
        ("0001-01-01T00:00:00Z", "zero or epoch date (reproducible build)"),
        ("1970-01-01T00:00:01Z", "zero or epoch date (reproducible build)"),
        (None, "absent"),
        ("", "absent"),
        ("yesterday", "unparsable"),
        ("2026-13-01T00:00:00Z", "unparsable"),
        (12345, "unparsable"),
        ("2026-01-01T00:00:00+99:99", "unparsable"),  # an offset no clock has: not a crash (review finding)
        ("2026-01-01T00:00:00+23:60", "unparsable"),
    ],
)
def test_unknown_dates(raw: object, reason: str) -> None:
    stamp = parse_timestamp(raw)
    assert not stamp.known and stamp.unknown_reason == reason
    assert stamp.age_days(NOW) is None


@pytest.mark.parametrize(
    ("user", "root"),
    [
        ("", True),
        ("root", True),
        ("0", True),
        ("0:0", True),
        ("root:root", True),
        ("root:1000", True),
        ("00", True),
        ("+0", True),  # the runtime parses the uid as a number: these are root (review finding)
        ("-0", True),
        ("+0:1000", True),
        ("1000", False),
        ("1000:0", False),
        ("nonroot", False),
        ("65532:65532", False),
    ],
)
def test_root_users(user: str, root: bool) -> None:
    assert is_root_user(user) is root


def test_named_user_mapped_to_uid_zero_by_passwd() -> None:
    passwd = b"root:x:0:0:root:/root:/bin/sh\ntoor:x:0:0::/:/bin/sh\napp:x:1000:1000::/app:/bin/sh\n"
    assert is_root_user("toor", passwd)
    assert not is_root_user("app", passwd)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"not json", "not JSON"),
        (b"[]", "not a JSON object"),
        (b'{"config": "x"}', "'config' is not an object"),
        (b'{"config": {"User": 0}}', "config.User is not a string"),
    ],
)
def test_bad_configs(data: bytes, message: str) -> None:
    with pytest.raises(ImageConfigError, match=message) as caught:
        parse_image_config(data, "sha256:abc")
    assert str(caught.value).startswith("sha256:abc: ")


def test_bad_base_digest_annotation() -> None:
    with pytest.raises(ImageConfigError, match="is not a digest"):
        parse_manifest_annotations({"annotations": {ANNOTATION_BASE_DIGEST: "latest"}})


@pytest.mark.parametrize(("user", "named"), [("app", True), ("toor:0", True), ("root", False), ("0", False),
                                             ("+0", False), ("1000:1000", False), ("", False)])
def test_names_a_user(user: str, named: bool) -> None:
    """Only a name needs etc/passwd to tell whether it is uid 0."""
    assert names_a_user(user) is named


def test_a_base_claim_is_one_source_s_pair_never_an_annotation_completed_by_a_label() -> None:
    """Labels are inherited from every image built on: an inherited digest must not finish an annotation's claim."""
    inherited = {ANNOTATION_BASE_NAME: "docker.io/library/debian:12", ANNOTATION_BASE_DIGEST: DIGEST}
    own = parse_manifest_annotations({"annotations": {ANNOTATION_BASE_NAME: "docker.io/acme/base:1"}},
                                     labels=inherited)
    assert (own.base_name, own.base_digest, own.base_source) == ("docker.io/acme/base:1", None, "annotation")
    from_labels = parse_manifest_annotations({}, labels=inherited)
    assert (from_labels.base_name, from_labels.base_digest, from_labels.base_source) == (
        "docker.io/library/debian:12", DIGEST, "label")
    assert parse_manifest_annotations({}).base_source is None


def test_diff_ids_are_read_only_when_they_are_a_list_of_digests() -> None:
    layers = ["sha256:" + "a" * 64, "sha256:" + "C" * 64]
    assert parse_image_config({"rootfs": {"type": "layers", "diff_ids": layers}}).diff_ids == (
        layers[0], "sha256:" + "c" * 64)
    for rootfs in (None, {"diff_ids": "sha256:" + "a" * 64}, {"diff_ids": [1]}, {"diff_ids": ["../etc"]}):
        assert parse_image_config({"rootfs": rootfs}).diff_ids is None
