"""Each compose rule in a few lines: compose text in, (rule, resource, line:column) out, through the real gate.

The services start from a hardened one (a user, a read-only root, no-new-privileges, a pinned image),
so each case shows the one finding its field causes and that nothing else fires.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.rule_cases import Expected, expect_findings, gate_report

HARDENED = """\
services:
  web:
    image: nginx:1.27
    user: "10001"
    read_only: true
    security_opt: ["no-new-privileges:true"]
"""
"""Lines 1-6; a case's own fields start at line 7, column 5."""


def _case(tmp_path: Path, extra: str, *expected: Expected, options: dict[str, str] | None = None) -> None:
    expect_findings(tmp_path, HARDENED + extra, *expected, gate="compose", filename="compose.yaml", options=options)


def test_a_hardened_service_passes(tmp_path: Path) -> None:
    _case(tmp_path, "")


def test_privileged(tmp_path: Path) -> None:
    _case(tmp_path, "    privileged: true\n", ("compose-privileged", "service/web", "7:5"))


def test_privileged_as_a_string_and_false(tmp_path: Path) -> None:
    _case(tmp_path, '    privileged: "false"\n')


def test_privileged_build_is_not_a_privileged_service(tmp_path: Path) -> None:
    _case(tmp_path, "    build:\n      context: .\n      privileged: true\n")


def test_capabilities_beyond_the_safe_set(tmp_path: Path) -> None:
    _case(tmp_path, "    cap_add: [CHOWN, cap_sys_admin, ALL]\n",
          ("compose-capabilities", "service/web", "7:22"), ("compose-capabilities", "service/web", "7:37"))


def test_allowed_capabilities_is_configurable(tmp_path: Path) -> None:
    _case(tmp_path, "    cap_add:\n      - NET_ADMIN\n      - SYS_TIME\n",
          ("compose-capabilities", "service/web", "9:9"), options={"allowed-capabilities": '["CAP_NET_ADMIN"]'})


@pytest.mark.parametrize("key", ["network_mode", "pid", "ipc", "uts", "userns_mode", "cgroup"])
def test_host_namespaces(tmp_path: Path, key: str) -> None:
    _case(tmp_path, f"    {key}: host\n", ("compose-host-namespaces", "service/web", "7:5"))


def test_other_namespace_modes_pass(tmp_path: Path) -> None:
    _case(tmp_path, '    network_mode: "service:db"\n    ipc: shareable\n    pid: "container:x"\n')


@pytest.mark.parametrize("value", ["root", "0", "0:0", "root:staff", "00"])
def test_user_root(tmp_path: Path, value: str) -> None:
    text = HARDENED.replace('user: "10001"', f'user: "{value}"')
    expect_findings(tmp_path, text, ("compose-user-root", "service/web", "4:5"), gate="compose",
                    filename="compose.yaml")


def test_user_unset_is_low_and_points_at_the_service(tmp_path: Path) -> None:
    text = HARDENED.replace('    user: "10001"\n', "")
    expect_findings(tmp_path, text, ("compose-user-unset", "service/web", "2:3"), gate="compose",
                    filename="compose.yaml")


def test_docker_socket_short_and_long_syntax(tmp_path: Path) -> None:
    _case(tmp_path, "    volumes:\n"
                    "      - /var/run/docker.sock:/var/run/docker.sock\n"
                    "      - type: bind\n"
                    "        source: /run/containerd/containerd.sock\n"
                    "        target: /c.sock\n",
          ("compose-runtime-socket", "service/web", "8:9"), ("compose-runtime-socket", "service/web", "10:9"))


def test_sensitive_host_paths(tmp_path: Path) -> None:
    _case(tmp_path, "    volumes:\n"
                    "      - /:/host:ro\n"
                    "      - /etc/pihole/:/etc/pihole/\n"
                    "      - /var/run/../../proc:/p\n"
                    "      - ~/.ssh:/root/.ssh\n"
                    "      - ./data:/data\n"
                    "      - data:/var/lib/data\n"
                    "      - /srv/www:/www\n"
                    "      - /dev/null:/app/.env\n"
                    "      - /tmp\n",
          ("compose-host-path", "service/web", "8:9"), ("compose-host-path", "service/web", "9:9"),
          ("compose-host-path", "service/web", "10:9"), ("compose-host-path", "service/web", "11:9"))


def test_a_mount_of_a_volume_type_is_not_a_host_path(tmp_path: Path) -> None:
    _case(tmp_path, "    volumes:\n      - type: volume\n        source: etc\n        target: /etc/x\n")


def test_devices(tmp_path: Path) -> None:
    _case(tmp_path, "    devices:\n      - /dev/kmsg:/dev/kmsg\n      - source: /dev/fuse\n",
          ("compose-devices", "service/web", "8:9"), ("compose-devices", "service/web", "9:9"))


@pytest.mark.parametrize("option", ["seccomp:unconfined", "seccomp=unconfined", "apparmor:unconfined",
                                    "label=disable"])
def test_unconfined(tmp_path: Path, option: str) -> None:
    text = HARDENED.replace('["no-new-privileges:true"]', f'["no-new-privileges:true", "{option}"]')
    expect_findings(tmp_path, text, ("compose-unconfined", "service/web", "6:46"), gate="compose",
                    filename="compose.yaml")


@pytest.mark.parametrize(("options", "where"), [('["no-new-privileges:false"]', "6:5"),
                                                ('["seccomp:profile.json"]', "6:5")])
def test_no_new_privileges_missing_or_off(tmp_path: Path, options: str, where: str) -> None:
    text = HARDENED.replace('["no-new-privileges:true"]', options)
    expect_findings(tmp_path, text, ("compose-no-new-privileges", "service/web", where), gate="compose",
                    filename="compose.yaml")


def test_no_new_privileges_other_spellings(tmp_path: Path) -> None:
    for spelling in ("no-new-privileges", "no-new-privileges=true"):
        text = HARDENED.replace('"no-new-privileges:true"', f'"{spelling}"')
        expect_findings(tmp_path, text, gate="compose", filename="compose.yaml")


def test_read_only_unset_or_false(tmp_path: Path) -> None:
    text = HARDENED.replace("    read_only: true\n", "")
    expect_findings(tmp_path, text, ("compose-read-only", "service/web", "2:3"), gate="compose",
                    filename="compose.yaml")
    text = HARDENED.replace("read_only: true", "read_only: false")
    expect_findings(tmp_path, text, ("compose-read-only", "service/web", "5:5"), gate="compose",
                    filename="compose.yaml")


@pytest.mark.parametrize("image", ["nginx", "nginx:latest", "registry:5000/app", "registry:5000/app:latest"])
def test_image_by_a_moving_tag(tmp_path: Path, image: str) -> None:
    text = HARDENED.replace("nginx:1.27", image)
    expect_findings(tmp_path, text, ("compose-image-latest", "service/web", "3:5"), gate="compose",
                    filename="compose.yaml")


@pytest.mark.parametrize("image", ["nginx@sha256:" + "a" * 64, "registry:5000/app:2", "nginx:latest@sha256:"
                                   + "b" * 64])
def test_image_pinned(tmp_path: Path, image: str) -> None:
    text = HARDENED.replace("nginx:1.27", image)
    expect_findings(tmp_path, text, gate="compose", filename="compose.yaml")


def test_a_service_built_without_image_is_not_judged_for_its_image(tmp_path: Path) -> None:
    text = HARDENED.replace("    image: nginx:1.27\n", "    build: .\n")
    expect_findings(tmp_path, text, gate="compose", filename="compose.yaml")


def test_skip_rules(tmp_path: Path) -> None:
    _case(tmp_path, "    privileged: true\n    devices: [/dev/fuse]\n", ("compose-devices", "service/web", "8:15"),
          options={"skip-rules": '["compose-privileged"]'})


def test_anchors_and_merge_keys_are_resolved(tmp_path: Path) -> None:
    text = """\
        x-risky: &risky
          privileged: true
          cap_add: [SYS_ADMIN]
        services:
          web:
            <<: *risky
            image: nginx:1.27
            user: "10001"
            read_only: true
            security_opt: ["no-new-privileges:true"]
        """
    expect_findings(tmp_path, text, ("compose-privileged", "service/web", "2:3"),
                    ("compose-capabilities", "service/web", "3:13"), gate="compose", filename="compose.yaml")


def test_a_key_set_directly_and_by_a_merge_is_an_error(tmp_path: Path) -> None:
    text = "x-a: &a\n  privileged: true\nservices:\n  web:\n    <<: *a\n    privileged: false\n"
    report = gate_report(tmp_path, text, gate="compose", filename="compose.yaml")
    (result,) = report.results
    assert result.outcome.value == "error" and result.location is not None and result.location.line == 1
    assert "'privileged' is set both directly (line 6) and by a '<<' merge" in (result.error or "")


def test_a_named_volume_that_binds_a_host_path(tmp_path: Path) -> None:
    _case(tmp_path, "    volumes:\n"
                    "      - config:/etc/app\n"
                    "      - type: volume\n"
                    "        source: config\n"
                    "        target: /c\n"
                    "      - cache:/cache\n"
                    "volumes:\n"
                    "  config:\n"
                    "    driver_opts: {type: none, o: bind, device: /etc}\n"
                    "  cache:\n"
                    "    driver_opts: {type: tmpfs, device: tmpfs}\n",
          ("compose-host-path", "service/web", "8:9"), ("compose-host-path", "service/web", "10:9"))


def test_use_api_socket_mounts_the_docker_socket(tmp_path: Path) -> None:
    _case(tmp_path, "    use_api_socket: true\n", ("compose-runtime-socket", "service/web", "7:5"))
    _case(tmp_path, "    use_api_socket: false\n")
