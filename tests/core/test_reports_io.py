"""Report files are written atomically and never through a symlink; stdout trouble never costs them.

Everything runs `python -m gates` as a real process; only `write_atomic`'s interrupted write uses a
fault injected in-process (a kill between two write calls cannot be timed from outside).
"""

from __future__ import annotations

import json
import os
import subprocess
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path

import pytest

from gates.atomic import NotAFileError, write_atomic
from tests.core.reports_support import (
    environment,
    failing_project,
    gates,
    gates_to,
    no_traceback,
    passing_project,
    stderr_lines,
)


def _temporaries(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir() if p.name.startswith(".gates-"))


# --- symlinks at the report path ---------------------------------------------------------------------


@pytest.mark.parametrize("origin", ["flag", "config"])
def test_symlink_to_a_file_outside_is_replaced_not_followed(tmp_path: Path, origin: str) -> None:
    repo = passing_project(tmp_path / "repo")
    victim = tmp_path / "home" / ".bashrc"
    victim.parent.mkdir()
    victim.write_text("alias ls='ls --color'\n")
    (repo / "reports").mkdir()
    (repo / "reports" / "gates.json").symlink_to(victim)
    if origin == "config":
        (repo / "gates.toml").write_text('[output]\njson = "reports/gates.json"\n')
        run = gates(["manifests", "pod.yaml"], repo)
    else:
        run = gates(["manifests", "pod.yaml", "--output", "json=reports/gates.json"], repo)
    assert run.code == 0, run.err
    assert victim.read_text() == "alias ls='ls --color'\n"
    report = repo / "reports" / "gates.json"
    assert not report.is_symlink()
    assert json.loads(report.read_text())["outcome"] == "passed"
    assert _temporaries(repo / "reports") == []


def test_dangling_symlink_is_replaced_and_its_target_never_created(tmp_path: Path) -> None:
    repo = failing_project(tmp_path / "repo")
    planted = tmp_path / "elsewhere" / "authorized_keys"
    planted.parent.mkdir()
    (repo / "junit.xml").symlink_to(planted)
    run = gates(["manifests", "pod0.yaml", "--output", "junit=junit.xml"], repo)
    assert run.code == 1, run.err
    assert not planted.exists()
    assert not (repo / "junit.xml").is_symlink()
    assert ET.parse(repo / "junit.xml").getroot().tag == "testsuites"


@pytest.mark.parametrize("stream", ["/dev/stdout", "/proc/self/fd/1", "/dev/stderr"])
def test_symlink_to_a_standard_stream_writes_a_file_not_the_stream(tmp_path: Path, stream: str) -> None:
    repo = failing_project(tmp_path / "repo")
    (repo / "report.json").symlink_to(stream)
    run = gates(["manifests", "pod0.yaml", "--format", "junit", "--output", "json=report.json"], repo)
    assert run.code == 1
    assert '"schema"' not in run.out and '"schema"' not in run.err  # nothing went to the process's streams
    assert ET.fromstring(run.out).tag == "testsuites"
    assert json.loads((repo / "report.json").read_text())["outcome"] == "failed"
    assert Path(stream).exists()


@pytest.mark.parametrize("target", ["/dev/stdout", "/dev/fd/1", "/proc/self/fd/1"])
def test_a_stream_named_as_report_path_is_a_usage_error(tmp_path: Path, target: str) -> None:
    repo = failing_project(tmp_path / "repo")
    run = gates(["manifests", "pod0.yaml", "--output", f"json={target}"], repo)
    assert run.code == 2
    [line] = stderr_lines(run.err)
    assert "is not a place for a report file" in line and target in line
    assert '"schema"' not in run.out
    assert os.path.islink("/dev/stdout")  # as root, a rename over it would have succeeded: it was never tried


def test_a_directory_at_the_report_path_is_left_alone(tmp_path: Path) -> None:
    repo = failing_project(tmp_path / "repo")
    (repo / "report.json").mkdir()
    (repo / "report.json" / "keep").write_text("keep")
    run = gates(["manifests", "pod0.yaml", "--output", "json=report.json", "--output", "junit=junit.xml",
                 "--format", "json"], repo)
    assert run.code == 2
    [line] = stderr_lines(run.err)
    assert line.startswith("gates: error: cannot write the json report 'report.json': a directory")
    assert (repo / "report.json" / "keep").read_text() == "keep"
    assert ET.parse(repo / "junit.xml").getroot().tag == "testsuites"  # the other report is still written
    assert json.loads(run.out)["outcome"] == "failed"  # and so is stdout
    assert _temporaries(repo) == []


def test_symlinked_parent_directory_is_followed_outside_ci(tmp_path: Path) -> None:
    """Decision: a symlinked directory is followed (`reports -> /big/disk` is common); CI confines it."""
    repo = failing_project(tmp_path / "repo")
    disk = tmp_path / "disk"
    disk.mkdir()
    (repo / "reports").symlink_to(disk, target_is_directory=True)
    run = gates(["manifests", "pod0.yaml", "--output", "json=reports/r.json"], repo)
    assert run.code == 1, run.err
    assert json.loads((disk / "r.json").read_text())["outcome"] == "failed"


def test_mode_follows_the_umask_like_any_file(tmp_path: Path) -> None:
    repo = failing_project(tmp_path / "repo")
    code = subprocess.run(["bash", "-c", 'umask 027 && exec "$@"', "_", *_python_gates(),
                           "manifests", "pod0.yaml", "--output", "json=r.json"],
                          cwd=repo, env=environment(), capture_output=True, check=False).returncode
    assert code == 1
    assert (repo / "r.json").stat().st_mode & 0o777 == 0o640


def _python_gates() -> list[str]:
    import sys

    return [sys.executable, "-m", "gates"]


# --- stdout closed, a broken pipe, a full device --------------------------------------------------------


@pytest.fixture
def big_project(tmp_path: Path) -> Path:
    """Enough failing workloads that the stdout reports far exceed a pipe's buffer."""
    return failing_project(tmp_path / "repo", files=60)


_FORMATS = ["--format", "sarif", "--output", "sarif=gates.sarif", "--output", "gitlab-codequality=cq.json"]
"""One document on stdout (two are a usage error), every other format written to a file."""


def _assert_reports_written(repo: Path) -> None:
    assert ET.parse(repo / "junit.xml").getroot().tag == "testsuites"
    assert json.loads((repo / "gates.json").read_text())["outcome"] == "failed"


def test_broken_pipe_still_writes_the_files_and_keeps_the_verdict(big_project: Path) -> None:
    # the reader is gone before gates writes (one document, written at once, could fit a reader's buffer)
    script = '"$@" | true; echo "exit=${PIPESTATUS[0]}" >&2'
    proc = subprocess.run(["bash", "-c", script, "_", *_python_gates(), "manifests", ".", *_FORMATS,
                           "--output", "junit=junit.xml", "--output", "json=gates.json"],
                          cwd=big_project, env=environment(), capture_output=True, text=True, check=False,
                          timeout=120)
    lines = stderr_lines(proc.stderr)
    assert lines[-1] == "exit=1", proc.stderr  # the verdict (failed), not an internal error
    assert no_traceback(proc.stderr)
    assert lines[:-1] == ["gates: cannot write the report to stdout: Broken pipe (report files are"
                          " written before it)"]
    _assert_reports_written(big_project)


def test_dev_full_still_writes_the_files(big_project: Path) -> None:
    with open("/dev/full", "w") as full:
        code, err = gates_to(full, ["manifests", ".", *_FORMATS, "--output", "junit=junit.xml",
                                    "--output", "json=gates.json"], big_project)
    assert code == 1 and no_traceback(err)
    assert stderr_lines(err) == ["gates: cannot write the report to stdout: No space left on device (report files are"
                                 " written before it)"]
    _assert_reports_written(big_project)


@pytest.mark.parametrize("command", ["manifests", "run"])  # the fast path and the full CLI
def test_closed_stdout_still_writes_the_files(big_project: Path, command: str) -> None:
    proc = subprocess.run(["bash", "-c", '"$@" >&-', "_", *_python_gates(), command, ".", *_FORMATS,
                           "--output", "junit=junit.xml", "--output", "json=gates.json"],
                          cwd=big_project, env=environment(), capture_output=True, text=True, check=False,
                          timeout=120)
    assert proc.returncode == 1 and no_traceback(proc.stderr)
    assert stderr_lines(proc.stderr) == ["gates: cannot write the report to stdout: stdout is closed (report"
                                         " files are written before it)"]
    _assert_reports_written(big_project)


def test_broken_pipe_under_github_actions_keeps_annotations_quiet_and_the_summary(big_project: Path) -> None:
    summary = big_project / "summary.md"
    env = environment({"GITHUB_ACTIONS": "true", "GITHUB_WORKSPACE": str(big_project),
                       "GITHUB_STEP_SUMMARY": str(summary)})
    script = '"$@" | head -c1 >/dev/null; echo "exit=${PIPESTATUS[0]}" >&2'
    proc = subprocess.run(["bash", "-c", script, "_", *_python_gates(), "manifests", ".", "--format", "console",
                           "--output", "junit=junit.xml", "--output", "json=gates.json"],
                          cwd=big_project, env=env, capture_output=True, text=True, check=False, timeout=120)
    lines = stderr_lines(proc.stderr)
    assert lines[-1] == "exit=1" and no_traceback(proc.stderr)
    assert lines[:-1] == ["gates: cannot write the report to stdout: Broken pipe (report files are written"
                          " before it)"]
    assert "pss-privileged" in summary.read_text()
    _assert_reports_written(big_project)


# --- a full disk ---------------------------------------------------------------------------------------


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 64 KiB tmpfs (needs root and the right to mount; skipped where mounting is not possible)."""
    mount_point = tmp_path / "small"
    mount_point.mkdir()
    proc = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(mount_point)],
                          capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        pytest.skip(f"needs a mountable 64k tmpfs (root): {proc.stderr.strip()}")
    try:
        yield mount_point
    finally:
        subprocess.run(["umount", str(mount_point)], check=False)


def test_full_disk_keeps_the_previous_report(small_disk: Path, tmp_path: Path) -> None:
    repo = failing_project(tmp_path / "repo", files=30)
    previous = small_disk / "gates.json"
    gates(["manifests", "pod0.yaml", "--output", f"json={previous}"], repo)
    earlier = previous.read_text()
    assert json.loads(earlier)["outcome"] == "failed"
    filler = small_disk / "filler"
    free = os.statvfs(small_disk)
    filler.write_bytes(b"\0" * (free.f_bavail * free.f_frsize - 8192))  # the disk full up to its last 8 KiB
    run = gates(["manifests", ".", "--format", "json", "--output", f"json={previous}"], repo)
    assert run.code == 2 and no_traceback(run.err)
    [line] = stderr_lines(run.err)
    assert ": No space left on device (any earlier report there is left as it was)" in line
    assert previous.read_text() == earlier  # neither truncated nor empty
    assert _temporaries(small_disk) == []
    assert len(json.loads(run.out)["results"]) == 30  # stdout still got the report
    filler.unlink()
    assert gates(["manifests", ".", "--output", f"json={previous}"], repo).code == 1
    assert len(json.loads(previous.read_text())["results"]) == 30


def test_a_write_cut_short_by_the_file_size_limit_keeps_the_previous_report(tmp_path: Path) -> None:
    """RLIMIT_FSIZE makes the kernel refuse the write half way (EFBIG), as a quota would; no root needed."""
    import resource

    repo = failing_project(tmp_path / "repo", files=30)
    previous = repo / "gates.json"
    assert gates(["manifests", "pod0.yaml", "--output", "json=gates.json"], repo).code == 1
    earlier = previous.read_text()
    limit = len(earlier) + 4096

    def limit_file_size() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    proc = subprocess.run([*_python_gates(), "manifests", ".", "--output", "json=gates.json"], cwd=repo,
                          env=environment(), capture_output=True, text=True, check=False, timeout=120,
                          preexec_fn=limit_file_size)
    assert proc.returncode == 2 and no_traceback(proc.stderr)
    [line] = stderr_lines(proc.stderr)
    assert line.startswith("gates: error: cannot write the json report 'gates.json': File too large")
    assert previous.read_text() == earlier
    assert _temporaries(repo) == []


def test_a_report_of_many_blocks_cut_short_after_the_first_is_one_error(tmp_path: Path) -> None:
    """A large report is written block by block (never as one string): a write refused after the first
    block still costs one line and exit 2, and the previous report stays whole."""
    import resource

    repo = failing_project(tmp_path / "repo", files=300)  # ~145 KB of JSON: three blocks
    previous = repo / "gates.json"
    assert gates(["manifests", "pod0.yaml", "--output", "json=gates.json"], repo).code == 1
    earlier = previous.read_text()
    limit = 100_000  # past the first block (64 KiB and a result), short of the report

    def limit_file_size() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    proc = subprocess.run([*_python_gates(), "manifests", ".", "--output", "json=gates.json", "--format", "json"],
                          cwd=repo, env=environment(), capture_output=True, text=True, check=False, timeout=120,
                          preexec_fn=limit_file_size)
    assert proc.returncode == 2 and no_traceback(proc.stderr)
    assert stderr_lines(proc.stderr) == ["gates: error: cannot write the json report 'gates.json': File too large"
                                         " (any earlier report there is left as it was)"]
    assert previous.read_text() == earlier
    assert _temporaries(repo) == []
    assert len(json.loads(proc.stdout)["results"]) == 300  # stdout, written in blocks too, still got all of it


# --- the writer itself -----------------------------------------------------------------------------------


def test_interrupted_write_leaves_the_old_file_and_no_temporary(tmp_path: Path,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "report.xml"
    target.write_bytes(b"<old/>")
    real_write = os.write
    calls: list[int] = []

    def killed_after_first_chunk(fd: int, data: bytes | memoryview) -> int:
        if calls:
            raise KeyboardInterrupt  # SIGINT arriving mid-write
        calls.append(fd)
        return real_write(fd, bytes(data[:10]))

    monkeypatch.setattr(os, "write", killed_after_first_chunk)
    with pytest.raises(KeyboardInterrupt):
        write_atomic(target, b"<new>" + b"x" * 100 + b"</new>")
    monkeypatch.undo()
    assert target.read_bytes() == b"<old/>"
    assert _temporaries(tmp_path) == []


def test_a_block_refused_after_the_first_leaves_the_old_file_and_no_temporary(tmp_path: Path,
                                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    import errno

    target = tmp_path / "report.json"
    target.write_bytes(b"{old}")
    real_write = os.write
    calls: list[int] = []

    def full_after_first_block(fd: int, data: bytes | memoryview) -> int:
        if calls:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        calls.append(fd)
        return real_write(fd, data)

    monkeypatch.setattr(os, "write", full_after_first_block)
    with pytest.raises(OSError, match="No space left"):
        write_atomic(target, iter([b"{" + b"x" * 100, b"y" * 100 + b"}"]))
    monkeypatch.undo()
    assert target.read_bytes() == b"{old}"
    assert _temporaries(tmp_path) == []


def test_blocks_are_written_one_after_another(tmp_path: Path) -> None:
    target = tmp_path / "r.json"
    write_atomic(target, (block for block in (b"[", b"1,2", b"", b"]\n")))
    assert target.read_bytes() == b"[1,2]\n"


def test_a_fifo_is_refused_without_blocking(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    with pytest.raises(NotAFileError, match="not a regular file"):
        write_atomic(fifo, b"data")
    assert fifo.exists() and _temporaries(tmp_path) == []


def test_writer_replaces_content_exactly(tmp_path: Path) -> None:
    target = tmp_path / "r.json"
    target.write_bytes(b"x" * 10_000)
    write_atomic(target, b"{}")
    assert target.read_bytes() == b"{}"
