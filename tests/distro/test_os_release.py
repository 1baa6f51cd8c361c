"""OS detection against Trivy's and Syft's own expectations, and every real os-release file."""

from __future__ import annotations

import platform
from pathlib import Path

import pytest

from gates.distro.os_release import (
    OSRelease,
    directory_reader,
    identify_release,
    parse_os_release,
    parse_redhat_release,
    parse_system_release_cpe,
    release_from_os_release,
)
from tests.distro.corpus import corpus_path, load_json


def _files(mapping: dict[str, bytes]):  # type: ignore[no-untyped-def]
    return lambda path: mapping.get(path)


def test_quoting_comments_and_escapes() -> None:
    text = (
        "# comment\n"
        "NAME='Single quoted $HOME'\n"
        'PRETTY_NAME="Debian \\"bookworm\\" \\$5"\n'
        "ID=debian  # trailing comment\n"
        'VERSION_ID="12"\r\n'
        "garbage line without equals\n"
        '  ID_LIKE="ubuntu debian"\n'
    )
    values = parse_os_release(text)
    assert values == {
        "NAME": "Single quoted $HOME",
        "PRETTY_NAME": 'Debian "bookworm" $5',
        "ID": "debian",
        "VERSION_ID": "12",
        "ID_LIKE": "ubuntu debian",
    }


def _trivy_view(release: OSRelease | None) -> tuple[str, str] | None:
    """Trivy reports (family, VERSION_ID) only when both are known."""
    if release is None or release.family is None or release.version_id is None:
        return None
    return release.family, release.version_id


def test_agrees_with_every_trivy_case() -> None:
    cases = load_json("extras", "os-release", "trivy", "expected.json")
    base = corpus_path("extras", "os-release", "trivy")
    agreed = []
    for case in cases:
        data = (base / Path(case["file"]).name).read_bytes()
        got = _trivy_view(identify_release(_files({"etc/os-release": data})))
        want = None if case["want_nil"] else (case["family"], case["version"])
        assert got == want, case["case"]
        agreed.append(case["case"])
    assert len(agreed) == len(cases) == 27


_SYFT_FIELDS = {
    "PrettyName": "pretty_name",
    "Name": "name",
    "ID": "id",
    "Version": "version",
    "VersionID": "version_id",
    "VersionCodename": "version_codename",
    "CPEName": "cpe_name",
}
_SYFT_OS_RELEASE_KEYS = {
    "HomeURL": "HOME_URL",
    "SupportURL": "SUPPORT_URL",
    "BugReportURL": "BUG_REPORT_URL",
    "PrivacyPolicyURL": "PRIVACY_POLICY_URL",
    "Variant": "VARIANT",
    "VariantID": "VARIANT_ID",
    "BuildID": "BUILD_ID",
    "SupportEnd": "SUPPORT_END",
}


def test_agrees_with_every_syft_case() -> None:
    cases = load_json("extras", "os-release", "syft", "expected.json")
    base = corpus_path("extras", "os-release", "syft")
    compared = 0
    for case in cases:
        fixture = base / case["fixture"].removeprefix("testdata/")
        release = identify_release(directory_reader(fixture))
        want = case["release"]
        assert release is not None, case["fixture"]
        for key, attr in _SYFT_FIELDS.items():
            assert getattr(release, attr) == want.get(key), (case["fixture"], key)
            compared += 1
        assert list(release.id_like) == (want.get("IDLike") or []), case["fixture"]
        for key, os_key in _SYFT_OS_RELEASE_KEYS.items():
            if key in want:
                assert release.fields.get(os_key) == want[key], (case["fixture"], key)
                compared += 1
    assert len(cases) == 30
    assert compared >= 30 * len(_SYFT_FIELDS)


def test_syft_parser_level_cases() -> None:
    base = corpus_path("extras", "os-release", "syft")
    unprintable = release_from_os_release((base / "unprintable").read_bytes())
    assert unprintable is not None
    assert (unprintable.id, unprintable.version_id, unprintable.name) == ("debian", "8", "Debian GNU/Linux")
    assert parse_system_release_cpe((base / "bad-system-release-cpe").read_bytes()) is None
    assert parse_redhat_release((base / "bad-redhat-release").read_bytes()) is None
    empty = identify_release(directory_reader(base / "os" / "empty"))
    assert empty is None


def _chef_files() -> list[Path]:
    base = corpus_path("extras", "os-release", "chef-os_release")
    return sorted(p for p in base.iterdir() if p.is_file() and p.name not in ("LICENSE", "README.md"))


def test_every_chef_file_parses_like_the_stdlib() -> None:
    """Every real os-release file parses, and agrees with CPython's own os-release parser."""
    files = _chef_files()
    assert len(files) == 155
    compared = 0
    for path in files:
        data = path.read_bytes()
        ours = parse_os_release(data)
        with path.open(encoding="utf-8", errors="replace") as handle:
            reference = platform._parse_os_release(handle)  # type: ignore[attr-defined]
        written = {line.split("=", 1)[0].strip() for line in data.decode("utf-8", "replace").splitlines()}
        # the stdlib fills NAME/ID/PRETTY_NAME defaults ("Linux"); compare what the file writes
        reference = {k: v for k, v in reference.items() if k in written}
        assert ours == reference, path.name
        compared += 1
        release = release_from_os_release(data)
        assert release is not None, path.name
    assert compared == 155


@pytest.mark.parametrize(
    ("name", "family", "version"),
    [
        ("debian_12", "debian", "12"),
        ("ubuntu_2204", "ubuntu", "22.04"),
        ("alpine_3_19", "alpine", "3.19.8"),
        ("redhat_9", "redhat", "9.6"),
        ("amazon_2023", "amazon", "2023"),
        ("centos_stream_9", "centos-stream", "9"),
        ("oracle_8", "oracle", "8.7"),
        ("wolfi", "wolfi", "20230201"),
    ],
)
def test_chef_identities(name: str, family: str, version: str) -> None:
    data = corpus_path("extras", "os-release", "chef-os_release", name).read_bytes()
    release = release_from_os_release(data)
    assert release is not None
    assert (release.family, release.version_id) == (family, version)


def test_debian_point_release_and_distroless() -> None:
    os_release = b'PRETTY_NAME="Distroless"\nNAME="Debian GNU/Linux"\nID="debian"\n'
    release = identify_release(_files({"etc/os-release": os_release, "etc/debian_version": b"12.7\n"}))
    assert release is not None
    assert (release.id, release.version_id, release.version) == ("debian", "12.7", "12.7")
    sid = identify_release(
        _files({"etc/os-release": b"ID=debian\nVERSION_ID=13\n", "etc/debian_version": b"trixie/sid\n"})
    )
    assert sid is not None and sid.version_id == "13"


def test_fallbacks_without_os_release() -> None:
    alpine = identify_release(_files({"etc/alpine-release": b"3.19.1\n"}))
    assert alpine is not None and (alpine.id, alpine.version_id) == ("alpine", "3.19.1")
    debian = identify_release(_files({"etc/debian_version": b"9.13\n"}))
    assert debian is not None and (debian.id, debian.version_id) == ("debian", "9.13")
    assert identify_release(_files({})) is None
    assert identify_release(_files({"etc/debian_version": b"buster/sid"})) is None


def test_usr_lib_os_release_when_etc_missing() -> None:
    release = identify_release(_files({"usr/lib/os-release": b"ID=fedora\nVERSION_ID=40\n"}))
    assert release is not None and release.source == "usr/lib/os-release"


def test_directory_reader_stays_inside_root(tmp_path: Path) -> None:
    outside = tmp_path / "secret"
    outside.write_text("ID=evil\nVERSION_ID=1\n")
    root = tmp_path / "root"
    (root / "etc").mkdir(parents=True)
    (root / "etc" / "os-release").symlink_to(outside)
    read = directory_reader(root)
    assert read("etc/os-release") is None
    assert read("../secret") is None
