"""The hostile-file corpus of the manifest gate and the config loader, written by code (nothing committed).

Each case is (file name, bytes or a writer, what the one-line error must say). Large files are written
at test time into the test's tmp directory: the 100 MB file is sparse, so it costs no real disk.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import yaml

from tests.manifests.helpers import compliant_pod_spec, wrap

Writer = Callable[[Path], None]


@dataclass(frozen=True)
class Case:
    """One hostile input: its file name, how to write it, and a fragment its error line must contain."""

    name: str
    write: Writer
    expect: str


def _bytes(data: bytes) -> Writer:
    def write(path: Path) -> None:
        path.write_bytes(data)

    return write


def _sparse(size: int, head: bytes) -> Writer:
    def write(path: Path) -> None:
        with path.open("wb") as out:
            out.write(head)
            out.seek(size - 1)
            out.write(b"\n")

    return write


def alias_bomb(levels: int = 9, fanout: int = 9) -> bytes:
    """A billion-laughs document: each anchor lists the previous one `fanout` times."""
    lines = ['l0: &l0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for i in range(1, levels):
        lines.append(f"l{i}: &l{i} [" + ", ".join([f"*l{i - 1}"] * fanout) + "]")
    return ("apiVersion: v1\nkind: Pod\nmetadata: {name: lol}\n" + "\n".join(lines) + "\n").encode()


def _pod(**extra: object) -> dict[str, object]:
    doc = wrap("Pod", compliant_pod_spec(), name="hostile")
    doc.update(extra)
    return doc


POD_YAML = yaml.safe_dump(_pod(), sort_keys=False)

MANIFEST_CASES: tuple[Case, ...] = (
    Case("alias-bomb.yaml", _bytes(alias_bomb()), "alias bomb"),
    Case("alias-bomb-keys.yaml", _bytes(  # the bomb hidden in a Pod's own field
        b"apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\n  labels: &a {x: &b [" + b",".join([b"1"] * 50) + b"]}\n"
        + b"".join(f"  k{i}: &k{i} [{', '.join(['*b' if i == 0 else f'*k{i - 1}'] * 20)}]\n".encode()
                   for i in range(6))), "alias bomb"),
    Case("deep-flow.yaml", _bytes(b"apiVersion: v1\nkind: Pod\nspec: " + b"[" * 20000 + b"]" * 20000 + b"\n"),
         "nesting depth"),
    Case("deep-block.yaml", _bytes(b"apiVersion: v1\nkind: Pod\nspec:\n"
                                   + b"".join(b"  " * (i + 1) + b"k%d:\n" % i for i in range(3000))),
         "nesting depth"),
    Case("deep.json", _bytes(b'{"apiVersion":"v1","kind":"Pod","spec":' + b'{"a":' * 5000 + b"1" + b"}" * 5001),
         "nesting depth"),
    Case("duplicate-keys.yaml", _bytes(POD_YAML.replace("kind: Pod\n", "kind: Pod\nkind: Secret\n", 1).encode()),
         "duplicate key 'kind'"),
    Case("duplicate-nested.json", _bytes(
        b'{"apiVersion":"v1","kind":"Pod","metadata":{"name":"a","name":"b"},"spec":{}}'),
         "duplicate key 'name'"),
    Case("huge.yaml", _sparse(100 * 1024 * 1024, POD_YAML.encode()), "larger than the 10485760 byte limit"),
    Case("binary.yaml", _bytes(bytes(range(256)) * 64), "binary file"),
    Case("elf.yml", _bytes(b"\x7fELF\x02\x01\x01" + b"\0" * 64), "binary file"),
    Case("latin1.yaml", _bytes(POD_YAML.replace("hostile", "caf\u00e9").encode("latin-1")), "not valid UTF-8"),
    Case("shift-jis.json", _bytes(json.dumps(_pod(), ensure_ascii=False).replace("hostile", "\u30c6\u30b9\u30c8")
                                  .encode("shift_jis")), "not valid UTF-8"),
    Case("lone-surrogate.yaml", _bytes(POD_YAML.encode() + b"x: \xed\xa0\x80\n"), "not valid UTF-8"),
    Case("array.json", _bytes(json.dumps([_pod()]).encode()), "is a list, not a Kubernetes object"),
    Case("string.json", _bytes(b'"apiVersion: v1"'), "is a str, not a Kubernetes object"),
    Case("number.json", _bytes(b"4e99999"), "not a Kubernetes object"),
    Case("null.json", _bytes(b"null"), "is a null, not a Kubernetes object"),
    Case("huge-integer.yaml", _bytes(POD_YAML.replace("runAsNonRoot: true", "runAsUser: " + "9" * 6000).encode()),
         "integer of 6000 characters is too long"),
    Case("wrong-type.yaml", _bytes(POD_YAML.replace("allowPrivilegeEscalation: false",
                                                    "allowPrivilegeEscalation: 'false'").encode()),
         "must be a boolean"),
    Case("python-tag.yaml", _bytes(b"apiVersion: v1\nkind: Pod\nmetadata: {name: x}\n"
                                   b"spec: !!python/object/apply:os.system ['touch /tmp/gates-pwned']\n"),
         "spec must be a mapping"),
    Case("unclosed.yaml", _bytes(b"apiVersion: v1\nkind: Pod\nmetadata: {name: [x\n"), "invalid YAML"),
    Case("tab-indent.yaml", _bytes(b"apiVersion: v1\nkind: Pod\nspec:\n\tcontainers: []\n"), "invalid YAML"),
)
"""Every case is named explicitly on the command line, so each must give exactly one error result."""


GOOD_POD = yaml.safe_dump(wrap("Pod", compliant_pod_spec(), name="good"), sort_keys=False)


@dataclass(frozen=True)
class ConfigCase:
    """A gates.toml that must be refused (exit 2) with one line naming the file and the problem."""

    name: str
    text: bytes
    expect: str


CONFIG_CASES: tuple[ConfigCase, ...] = (
    ConfigCase("unknown-top-key", b"fail-on = 'high'\nfial-on = 'low'\n", "fial-on: unknown key"),
    ConfigCase("unknown-section-key", b"[manifests]\nlevle = 'baseline'\n", "manifests.levle: unknown key"),
    ConfigCase("unknown-registry-key", b"[registry]\ntimeout = 5\nretries = 9\n", "registry.retries: unknown key"),
    ConfigCase("int-as-string", b"[manifests]\nmax-file-size = '10MB'\n", "must be a non-negative integer"),
    ConfigCase("negative-int", b"[base-image]\nmax-age-days = -1\n", "must be a non-negative integer"),
    ConfigCase("bool-as-int", b"[registry]\ntimeout = true\n", "must be a positive integer"),
    ConfigCase("float-inf", b"[manifests]\nmax-file-size = inf\n", "must be a non-negative integer"),
    ConfigCase("list-of-ints", b"format = [1, 2]\n", "format: must be a list of strings"),
    ConfigCase("section-not-table", b"manifests = 5\n", "manifests: must be a table"),
    ConfigCase("bad-choice", b"fail-on = 3\n", "fail-on: must be one of"),
    ConfigCase("bad-date", b"[[waivers]]\nrule = 'x'\nreason = 'y'\nexpires = 'soon'\n", "must be a date"),
    ConfigCase("policies-not-array", b"[signature]\npolicies = 'all'\n", "signature.policies: must be an array"),
    ConfigCase("not-toml", b"gates = [\n", "invalid TOML"),
    ConfigCase("deep-arrays", b"fail-on = " + b"[" * 5000 + b"]" * 5000 + b"\n", "nested too deeply"),
    ConfigCase("deep-tables", b"x = " + b"{a = " * 3000 + b"1" + b"}" * 3000 + b"\n", "nested too deeply"),
    ConfigCase("binary", b"\x00\xff\xfe\x00garbage", "cannot read configuration"),
    ConfigCase("utf16", "fail-on = 'low'\n".encode("utf-16"), "cannot read configuration"),
)
