"""End-of-life answers from the shipped data file (snapshot facts as of 2026-08-22)."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from gates.distro.eol import (
    EolDataError,
    EolStatus,
    SupportPhase,
    load_eol_data,
    parse_eol_data,
    point_version,
)
from gates.distro.os_release import OSRelease
from tests.distro.corpus import REPO, corpus_path

TODAY = dt.date(2026, 8, 22)


def test_shipped_file_is_dated_and_sourced() -> None:
    db = load_eol_data()
    assert db.generated is not None
    assert db.source["name"] == "endoflife.date" and db.source["license"] == "MIT"
    assert "debian" in db.products and "kubernetes" not in db.products


def test_shipped_file_is_what_the_script_builds_from_the_corpus(tmp_path: Path) -> None:
    import importlib.util

    spec = importlib.util.spec_from_file_location("build_eol_data", REPO / "scripts" / "build_eol_data.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    shipped = json.loads((REPO / "gates" / "data" / "distro-eol.json").read_text())
    built = module.build(corpus_path("eol", "endoflife.date-products"), dt.date.fromisoformat(shipped["generated"]))
    assert built == shipped


def test_agrees_with_the_normalized_corpus_file() -> None:
    normalized = json.loads(corpus_path("eol", "distro-eol.normalized.json").read_text())
    db = load_eol_data()
    compared = 0
    for product, cycles in db.products.items():
        for cycle, raw in zip(cycles, normalized[product]["releases"], strict=True):
            assert cycle.cycle == raw["releaseCycle"]
            eol = raw.get("eol")
            want = dt.date.fromisoformat(eol) if isinstance(eol, str) else eol
            assert cycle.end_of_security_support == want, (product, cycle.cycle)
            assert cycle.latest == raw.get("latest")
            compared += 1
        assert len(cycles) == len(normalized[product]["releases"])
    assert compared == 237


def test_debian_12_phases() -> None:
    db = load_eol_data()
    security = db.status("debian", "12.5", TODAY)
    assert security.status is EolStatus.END_OF_LIFE
    assert security.ends == dt.date(2026, 7, 11) and security.cycle is not None
    assert security.cycle.cycle == "12" and security.cycle.codename == "Bookworm"
    lts = db.status("debian", "12.5", TODAY, SupportPhase.EXTENDED)
    assert (lts.status, lts.ends) == (EolStatus.SUPPORTED, dt.date(2028, 6, 30))
    assert db.status("debian", "13", TODAY).status is EolStatus.SUPPORTED


def test_boundaries_and_other_distros() -> None:
    db = load_eol_data()
    assert db.status("debian", "12", dt.date(2026, 7, 10)).status is EolStatus.SUPPORTED
    assert db.status("debian", "12", dt.date(2026, 7, 11)).status is EolStatus.END_OF_LIFE
    assert db.status("alpine", "3.19.1", TODAY).status is EolStatus.END_OF_LIFE
    assert db.status("alpine", "3.24.0", TODAY).status is EolStatus.SUPPORTED
    assert db.status("ubuntu", "22.04", TODAY).status is EolStatus.SUPPORTED
    assert db.status("amzn", "2", TODAY).status is EolStatus.END_OF_LIFE
    assert db.status("amzn", "2023", TODAY).status is EolStatus.SUPPORTED
    # Oracle Linux 10: eol false = no date announced
    ol10 = db.status("ol", "10.1", TODAY)
    assert (ol10.status, ol10.ends) == (EolStatus.SUPPORTED, None)


@pytest.mark.parametrize(
    ("distro", "version"),
    [("wolfi", "20230201"), ("linuxmint", "21.3"), ("debian", "99"), (None, "1"), ("debian", None)],
)
def test_unknown_is_never_supported(distro: str | None, version: str | None) -> None:
    answer = load_eol_data().status(distro, version, TODAY)
    assert answer.status is EolStatus.UNKNOWN and answer.reason


def test_release_status_tells_centos_stream_apart() -> None:
    db = load_eol_data()
    stream = OSRelease(id="centos", version_id="9", name="CentOS Stream")
    answer = db.release_status(stream, TODAY)
    assert answer.cycle is not None and answer.cycle.product == "centos-stream"
    assert db.release_status(None, TODAY).status is EolStatus.UNKNOWN


def test_point_release_lag() -> None:
    db = load_eol_data()
    lag = db.point_release_lag("debian", "12.5")
    assert lag is not None and (lag.latest, lag.behind) == ("12.15", 10)
    current = db.point_release_lag("alpine", "3.24.1")
    assert current is not None and current.behind == 0
    assert db.point_release_lag("alpine", "3.19.1") is not None
    assert db.point_release_lag("debian", "12") is not None  # no point given: counts as .0
    assert db.point_release_lag("fedora", "42") is None  # no point releases
    ubuntu = OSRelease(id="ubuntu", version_id="24.04", version="24.04.1 LTS (Noble Numbat)")
    assert point_version(ubuntu) == "24.04.1"
    lag = db.point_release_lag("ubuntu", "24.04.1")
    assert lag is not None and lag.behind == 3


def test_bad_data_files(tmp_path: Path) -> None:
    with pytest.raises(EolDataError, match="not JSON"):
        parse_eol_data("{", "x.json")
    with pytest.raises(EolDataError, match="missing 'products'"):
        parse_eol_data("{}", "x.json")
    with pytest.raises(EolDataError, match="not an ISO date"):
        parse_eol_data(json.dumps({"products": {"d": {"cycles": [{"cycle": "1", "release_date": "soon"}]}}}))
    with pytest.raises(EolDataError, match="cannot read"):
        load_eol_data(tmp_path / "missing.json")
