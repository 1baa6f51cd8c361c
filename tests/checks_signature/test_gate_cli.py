"""`gates signature` end to end: real registry, images pushed by the tests, signed in cosign's formats."""

from __future__ import annotations

import re
import time
import xml.etree.ElementTree as ET
from pathlib import Path

from gates.checks.signature import rules as r
from gates.oci.client import RegistryClient
from gates.oci.digest import Digest
from gates.oci.manifest import Platform
from tests.checks_signature.conftest import GatesRun, Signers, fresh, push, results, small_image
from tests.checks_signature.cosign import attach_bundle, key_bundle, key_layer, keyless_layer, sign_legacy
from tests.conftest import run_process
from tests.cosign.factory import ISSUER, WORKFLOW, FakeRekor
from tests.support import oci_images as oi
from tests.support.registry import RegistryServer, free_port


def key_args(signers: Signers, *extra: str) -> list[str]:
    return ["signature", "--key", str(signers.key_pem), "--trusted-root", str(signers.trusted_root), *extra,
            "--format", "json"]


def test_key_signature_with_rekor_set_passes(
    registry: RegistryServer, pusher: RegistryClient, signers: Signers, gates: GatesRun, tmp_path: Path
) -> None:
    ref = fresh(registry)
    digest = push(pusher, ref)
    sign_legacy(pusher, ref, digest, key_layer(signers.key, digest, ref.name, signers.rekor))
    junit = tmp_path / "junit.xml"
    run = gates([*key_args(signers), "--output", f"junit={junit}", str(ref)])
    assert run.code == 0, run.out + run.err
    [result] = results(run)
    assert result["outcome"] == "passed" and result["target"] == str(ref) and result["gate"] == "signature"
    assert result["details"][0] == f"digest {digest} (image manifest)"
    assert "signature layer 1" in result["details"][1] and "cosign.pub" in result["details"][1]
    case = ET.parse(junit).getroot().find(".//testcase")
    assert case is not None and str(ref) in case.get("name", "")
    assert case.find("failure") is None and case.find("error") is None


def test_key_signature_without_tlog_needs_the_opt_out(
    registry: RegistryServer, pusher: RegistryClient, signers: Signers, gates: GatesRun
) -> None:
    ref = fresh(registry)
    digest = push(pusher, ref)
    sign_legacy(pusher, ref, digest, key_layer(signers.key, digest, ref.name))
    strict = gates([*key_args(signers), str(ref)])
    assert strict.code == 1
    [finding] = results(strict)[0]["findings"]
    assert finding["rule"] == r.TLOG_MISSING
    relaxed = gates([*key_args(signers, "--insecure-ignore-tlog"), str(ref)])
    assert relaxed.code == 0, relaxed.out


def test_wrong_key_fails_and_says_which_key(
    registry: RegistryServer, pusher: RegistryClient, signers: Signers, gates: GatesRun, tmp_path: Path
) -> None:
    ref = fresh(registry)
    digest = push(pusher, ref)
    sign_legacy(pusher, ref, digest, key_layer(signers.other_key, digest, ref.name, signers.rekor))
    junit = tmp_path / "junit.xml"  # one document on stdout: the JSON; JUnit to a file
    run = gates([*key_args(signers), "--output", f"junit={junit}", str(ref)])
    assert run.code == 1
    junit_part = junit.read_text(encoding="utf-8").removeprefix("<?xml")
    [result] = results(run)
    assert result["outcome"] == "failed"
    [finding] = result["findings"]
    assert finding["rule"] == r.INVALID and "does not verify with ECDSA" in finding["message"]
    assert finding["blocking"] is True and finding["resource"] == str(ref)
    failure = ET.fromstring("<?xml" + junit_part).find(".//failure")
    assert failure is not None and "does not verify" in (failure.text or "")


def test_unsigned_image_is_signature_missing(
    registry: RegistryServer, pusher: RegistryClient, signers: Signers, gates: GatesRun
) -> None:
    ref = fresh(registry)
    digest = push(pusher, ref)
    run = gates([*key_args(signers), str(ref)])
    assert run.code == 1
    [finding] = results(run)[0]["findings"]
    assert finding["rule"] == r.MISSING and str(digest) in finding["message"]


def test_signature_for_another_digest_is_rejected(
    registry: RegistryServer, pusher: RegistryClient, signers: Signers, gates: GatesRun
) -> None:
    ref = fresh(registry)
    digest = push(pusher, ref)
    other = Digest.of(b"another image")
    sign_legacy(pusher, ref, digest, key_layer(signers.key, other, ref.name, signers.rekor))
    run = gates([*key_args(signers), str(ref)])
    assert run.code == 1
    [finding] = results(run)[0]["findings"]
    assert finding["rule"] == r.PAYLOAD_MISMATCH
    assert str(other) in finding["message"] and str(digest) in finding["message"]


def test_second_layer_verifies_after_a_bad_first(
    registry: RegistryServer, pusher: RegistryClient, signers: Signers, gates: GatesRun
) -> None:
    ref = fresh(registry)
    digest = push(pusher, ref)
    sign_legacy(pusher, ref, digest, key_layer(signers.other_key, digest, ref.name, signers.rekor),
                key_layer(signers.key, digest, ref.name, signers.rekor))
    run = gates([*key_args(signers), str(ref)])
    assert run.code == 0, run.out
    assert "signature layer 2" in results(run)[0]["details"][1]


def test_multi_arch_index_verifies_the_index_digest(
    registry: RegistryServer, pusher: RegistryClient, signers: Signers, gates: GatesRun
) -> None:
    ref = fresh(registry, "multi")
    idx = oi.index([(small_image(f"{ref}a", "amd64"), Platform("linux", "amd64")),
                    (small_image(f"{ref}b", "arm64"), Platform("linux", "arm64"))])
    index_digest = oi.push_index(pusher, ref, idx)
    child = idx.images[0].digest
    sign_legacy(pusher, ref, child, key_layer(signers.key, child, ref.name, signers.rekor))
    only_child = gates([*key_args(signers), str(ref)])
    assert only_child.code == 1, "a signed platform image does not sign the index the tag points at"
    assert results(only_child)[0]["findings"][0]["rule"] == r.MISSING
    sign_legacy(pusher, ref, index_digest, key_layer(signers.key, index_digest, ref.name, signers.rekor))
    run = gates([*key_args(signers), str(ref)])
    assert run.code == 0, run.out
    assert results(run)[0]["details"][0].startswith(f"digest {index_digest} (image index")


def test_v3_bundle_referrer_passes(
    registry: RegistryServer, pusher: RegistryClient, signers: Signers, gates: GatesRun
) -> None:
    ref = fresh(registry, "bundled")
    img = small_image(str(ref))
    oi.push_image(pusher, ref, img)
    attach_bundle(pusher, ref, img.descriptor, key_bundle(signers.key, img.digest))
    run = gates([*key_args(signers, "--insecure-ignore-tlog"), str(ref)])
    assert run.code == 0, run.out
    assert "bundle in referrer" in results(run)[0]["details"][1]


def test_v3_bundle_for_an_sbom_is_not_a_signature(
    registry: RegistryServer, pusher: RegistryClient, signers: Signers, gates: GatesRun
) -> None:
    ref = fresh(registry, "sbom")
    img = small_image(str(ref))
    oi.push_image(pusher, ref, img)
    attach_bundle(pusher, ref, img.descriptor, key_bundle(signers.key, img.digest, "https://spdx.dev/Document"))
    run = gates([*key_args(signers, "--insecure-ignore-tlog"), str(ref)])
    assert run.code == 1
    [finding] = results(run)[0]["findings"]
    assert finding["rule"] == r.PAYLOAD_MISMATCH and "predicate type" in finding["message"]


def test_keyless_signature_under_a_private_trusted_root(
    registry: RegistryServer, pusher: RegistryClient, signers: Signers, gates: GatesRun
) -> None:
    ref = fresh(registry, "keyless")
    digest = push(pusher, ref)
    sign_legacy(pusher, ref, digest,
                keyless_layer(signers.fulcio, signers.rekor, digest, ref.name, san=WORKFLOW, issuer=ISSUER))
    base = ["signature", "--trusted-root", str(signers.trusted_root), "--certificate-oidc-issuer", ISSUER,
            "--format", "json"]
    ok = gates([*base, "--certificate-identity", WORKFLOW, str(ref)])
    assert ok.code == 0, ok.out + ok.err
    assert WORKFLOW in results(ok)[0]["details"][1]
    regexp = gates([*base, "--certificate-identity-regexp", r"https://github\.com/acme/app/.*", str(ref)])
    assert regexp.code == 0, regexp.out
    wrong = gates([*base, "--certificate-identity", "https://github.com/evil/app/x.yml@refs/heads/main",
                   str(ref)])
    assert wrong.code == 1
    [finding] = results(wrong)[0]["findings"]
    assert finding["rule"] == r.IDENTITY_MISMATCH
    assert f"is {WORKFLOW}, expected https://github.com/evil/app" in finding["message"]


def test_keyless_signature_logged_in_another_rekor_is_rejected(
    registry: RegistryServer, pusher: RegistryClient, signers: Signers, gates: GatesRun
) -> None:
    ref = fresh(registry, "keyless")
    digest = push(pusher, ref)
    sign_legacy(pusher, ref, digest,
                keyless_layer(signers.fulcio, FakeRekor(), digest, ref.name, san=WORKFLOW, issuer=ISSUER))
    run = gates(["signature", "--trusted-root", str(signers.trusted_root), "--certificate-identity", WORKFLOW,
                 "--certificate-oidc-issuer", ISSUER, "--format", "json", str(ref)])
    assert run.code == 1
    assert results(run)[0]["findings"][0]["rule"] in (r.INVALID, r.TLOG_MISSING)


def test_malformed_signature_manifest_is_an_error(
    registry: RegistryServer, pusher: RegistryClient, signers: Signers, gates: GatesRun
) -> None:
    ref = fresh(registry)
    digest = push(pusher, ref)
    bogus = oi.index([(small_image("bogus"), Platform("linux", "amd64"))])
    oi.push_index(pusher, ref.with_tag(f"{digest.tag_form}.sig"), bogus)
    run = gates([*key_args(signers), str(ref)])
    assert run.code == 1
    [result] = results(run)
    assert result["outcome"] == "error" and result["findings"] == []
    assert result["error"].startswith(f"{ref}: signature manifest") and "no layers list" in result["error"]


def test_registry_down_is_an_error_in_bounded_time(signers: Signers, gates: GatesRun) -> None:
    image = f"127.0.0.1:{free_port()}/sig/app:1.0"
    started = time.monotonic()
    run = gates([*key_args(signers), image])
    assert time.monotonic() - started < 20
    assert run.code == 1
    [result] = results(run)
    assert result["outcome"] == "error"
    assert result["error"].startswith(image + ": ") and "connection refused" in result["error"]
    assert "\n" not in result["error"]


def test_bad_reference_is_an_error_and_other_images_still_run(
    registry: RegistryServer, pusher: RegistryClient, signers: Signers, gates: GatesRun
) -> None:
    ref = fresh(registry)
    digest = push(pusher, ref)
    sign_legacy(pusher, ref, digest, key_layer(signers.key, digest, ref.name, signers.rekor))
    run = gates([*key_args(signers), "Not/A:Valid::ref", str(ref)])
    assert run.code == 1
    bad, good = results(run)
    assert bad["outcome"] == "error" and "invalid image reference" in bad["error"]
    assert good["outcome"] == "passed"


def test_image_without_tag_or_repository_not_found_is_an_error(
    registry: RegistryServer, signers: Signers, gates: GatesRun
) -> None:
    run = gates([*key_args(signers), f"{registry.host}/sig/never-pushed:1"])
    [result] = results(run)
    assert run.code == 1 and result["outcome"] == "error" and "not found" in result["error"]


def test_many_images_keep_their_order(
    registry: RegistryServer, pusher: RegistryClient, signers: Signers, gates: GatesRun
) -> None:
    refs = [fresh(registry, "many") for _ in range(6)]
    for number, ref in enumerate(refs):
        digest = push(pusher, ref)
        if number % 2 == 0:
            sign_legacy(pusher, ref, digest, key_layer(signers.key, digest, ref.name, signers.rekor))
    run = gates([*key_args(signers), *map(str, refs)])
    assert [res["target"] for res in results(run)] == [str(ref) for ref in refs]
    assert [res["outcome"] for res in results(run)] == ["passed", "failed"] * 3


def test_contradictory_flags_are_usage_errors(signers: Signers, gates: GatesRun) -> None:
    cases = {
        ("--key", str(signers.key_pem), "--certificate-identity", "a@b.c"): "--key",
        ("--certificate-identity", "a@b.c"): "--certificate-oidc-issuer",
        ("--certificate-identity", "a", "--certificate-identity-regexp", "a", "--certificate-oidc-issuer", "i"):
            "exclude each other",
        ("--certificate-oidc-issuer", "https://issuer"): "needs --certificate-identity",
        ("--insecure-ignore-tlog",): "--insecure-ignore-tlog needs --key",
        ("--key", "/nonexistent/cosign.pub"): "cannot read key /nonexistent/cosign.pub",
        ("--certificate-identity-regexp", "(", "--certificate-oidc-issuer", "i"): "not a valid regular expression",
    }
    for flags, message in cases.items():
        run = gates(["signature", *flags, "registry.example/app:1"])
        assert run.code == 2, (flags, run.err)
        assert message in run.err, (flags, run.err)
        assert run.out == ""


def test_no_images_at_all_is_a_usage_error(gates: GatesRun) -> None:
    run = gates(["signature"])
    assert run.code == 2 and "no images to check" in run.err


def test_as_a_real_process(
    registry: RegistryServer, pusher: RegistryClient, signers: Signers, tmp_path: Path
) -> None:
    refs = [fresh(registry, "proc") for _ in range(2)]
    for ref in refs:
        digest = push(pusher, ref)
        sign_legacy(pusher, ref, digest, key_layer(signers.key, digest, ref.name, signers.rekor))
    env = {"GATES_CACHE_DIR": "none", "DOCKER_CONFIG": str(tmp_path)}
    run = run_process(["signature", "--key", str(signers.key_pem), "--trusted-root", str(signers.trusted_root),
                       "--verbose", *map(str, refs)], cwd=tmp_path, env=env)
    assert run.code == 0, run.err
    lines = run.err.splitlines()  # stderr is not a terminal here: plain lines, one per start and end
    assert len(lines) == 2 * len(refs) and all(line.startswith("signature: ") for line in lines)
    for ref in refs:
        assert f"signature: checking {ref} (" in run.err and re.search(rf"{re.escape(str(ref))} passed in ", run.err)
    assert "signature: 2 passed" in run.out and "digest sha256:" in run.out
