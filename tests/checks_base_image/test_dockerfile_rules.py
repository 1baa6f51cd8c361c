"""The Dockerfile rules on written cases: exactly the (rule, line) findings expected, values never shown."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gates.checks.base_image import rules as R
from gates.checks.base_image.dockerfile_rules import check, secret_name
from gates.targets.dockerfile import DockerfileError, parse_dockerfile
from tests.checks_base_image.dockerfile_cases import CASES


def findings(text: str, name: str = "Dockerfile") -> set[tuple[str, int]]:
    """Every Dockerfile finding of gates, pinning as `require-digest = false` judges it."""
    dockerfile = parse_dockerfile(text, name)
    found = {(f.rule, f.line) for f in check(dockerfile)}
    found |= {(R.PINNING, p.line) for p in dockerfile.pinning_problems(require_digest=False)}
    return found


@pytest.mark.parametrize("name", sorted(CASES))
def test_each_case_gives_exactly_its_findings(name: str) -> None:
    text, expected = CASES[name]
    assert findings(text, name) == expected


def test_a_credential_value_is_never_in_a_message() -> None:
    text = "FROM alpine:3.20\nENV DB_PASSWORD=hunter2\nENV MIRROR=https://bob:s3cret@example.com/\nUSER 1\n"
    messages = [f.message for f in check(parse_dockerfile(text))]
    assert len(messages) == 2
    assert not any("hunter2" in m or "s3cret" in m for m in messages)
    add = "FROM alpine:3.20\nADD https://bob:s3cret@example.com/a /a\nUSER 1\n"
    [remote] = check(parse_dockerfile(add))
    assert "s3cret" not in remote.message and "bob:***@example.com" in remote.message



@pytest.mark.parametrize("source", [
    "https://" + "ghp" + "_" + "T" * 36 + "@github.com/acme/tool/archive/v1.tar.gz",  # a token as the user name
    "https://x-token-auth:" + "s3cret-pw" + "@bitbucket.org/acme/tool.git",
    "https://example.com/tool.tar.gz?X-Amz-Signature=" + "f" * 64 + "&token=" + "s3cret-pw",
], ids=["token-as-user", "user-and-password", "signed-query"])
def test_a_credential_in_an_add_url_is_never_in_a_message(source: str) -> None:
    [remote] = check(parse_dockerfile(f"FROM alpine:3.20\nADD {source} /opt/\nUSER 1\n"))
    assert remote.rule == R.DOCKERFILE_REMOTE_ADD
    assert "T" * 36 not in remote.message and "s3cret" not in remote.message and "f" * 64 not in remote.message
    assert "ADD https://" in remote.message

def test_skipped_rules_are_not_checked() -> None:
    text = CASES["pipe-to-shell"][0] + CASES["install-recommends"][0].replace("FROM debian:12\n", "")
    only = check(parse_dockerfile(text), frozenset({R.DOCKERFILE_INSTALL_RECOMMENDS}))
    assert {f.rule for f in only} == {R.DOCKERFILE_INSTALL_RECOMMENDS}


@pytest.mark.parametrize(("name", "secret"), [
    ("DB_PASSWORD", True), ("npmToken", True), ("AWS_SECRET_ACCESS_KEY", True), ("GITHUB_API_KEY", True),
    ("SSH_PRIVATE_KEY", True), ("BASIC_AUTH", True), ("PASSWORD_FILE", False), ("TOKEN_URL", False),
    ("GPG_KEY", False), ("KEYBOARD", False), ("BYPASS_CACHE", False), ("AUTHOR", False),
])
def test_credential_names(name: str, secret: bool) -> None:
    assert secret_name(name) is secret


_WORDS = ["RUN", "ENV", "ARG", "ADD", "USER", "COPY", "curl", "wget", "|", "sh", "apt-get", "install", "-y",
          "--security=insecure", "--checksum=", "https://a/b", "git@h:r.git", "TOKEN=", "A=b", "\\\n", "<<EOF",
          "EOF", "\n", '"', "'", "[", "]", "$(", "<(", "0", "root", "${X}", "#"]


@given(st.lists(st.sampled_from(_WORDS), max_size=40))
@settings(max_examples=300, deadline=None)
def test_any_instruction_text_is_judged_without_raising(words: list[str]) -> None:
    text = "FROM alpine:3.20\n" + " ".join(words) + "\n"
    try:
        dockerfile = parse_dockerfile(text)
    except DockerfileError:
        return
    for finding in check(dockerfile):
        assert finding.rule in R.DOCKERFILE_RULES and finding.line >= 1 and finding.message


def test_a_long_value_is_judged_in_linear_time() -> None:
    """A hostile Dockerfile's megabyte ENV value must not make the credential pattern backtrack for
    minutes (it did: quadratic in a run of letters). Run apart, so a regression is killed, not waited for."""
    import subprocess
    import sys

    script = ("from gates.checks.base_image.dockerfile_rules import check\n"
              "from gates.targets.dockerfile import parse_dockerfile\n"
              "text = 'FROM alpine:3.20\\nENV MIRROR=' + 'a' * 1_000_000 + '\\nUSER 1\\n'\n"
              "print(len(check(parse_dockerfile(text))))\n")
    try:
        done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    except subprocess.TimeoutExpired:
        pytest.fail("a 1 MB ENV value took more than 60 s to judge")
    assert done.returncode == 0 and done.stdout.strip() == "0", done.stderr[-500:]
