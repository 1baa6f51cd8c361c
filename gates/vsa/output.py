"""`--output vsa=DIR`: one verification summary per passing image digest, in a directory.

File names come from the digest alone (`sha256-<hex>.vsa.json`, the hex checked by `gates.oci.digest`
before it gets here), never from a reference or anything a registry said. Summaries of an earlier run
in DIR, found by that name pattern, are removed first, so DIR holds exactly this run's verdicts and a
summary a pull request committed there (or left from a run whose image has since failed) is never
signed by `gates attest`. Each file is written atomically (`gates.atomic`): a symlink at its name is
replaced, never followed; a symlink at DIR itself is refused.
"""

from __future__ import annotations

import datetime as dt
import errno
import os
import re
from pathlib import Path

from gates.atomic import write_atomic
from gates.model import Report
from gates.vsa.policy import PolicyRef
from gates.vsa.statement import encode, passed_images, statement

FORMAT = "vsa"
"""The `--output` name of the directory of summaries (not a report format: no `--format vsa`)."""
SUFFIX = ".vsa.json"
FILE_NAME = re.compile(r"^sha256-[0-9a-f]{64}\.vsa\.json$")


def file_name(sha256: str) -> str:
    name = f"sha256-{sha256}{SUFFIX}"
    if not FILE_NAME.match(name):
        raise ValueError(f"not a sha256 digest: {sha256[:80]!r}")
    return name


def write_summaries(report: Report, directory: Path, policy: PolicyRef, verifier: str,
                    verified_at: dt.datetime | None = None) -> list[Path]:
    """Write a summary for every image `report` passes into `directory` (made if missing); their paths.

    A symlink at `directory` is refused (`NotADirectoryError`): the checks of where reports may go
    resolve a path's folder, not its last name, and a link committed there could lead anywhere."""
    if directory.is_symlink():
        raise NotADirectoryError(errno.ENOTDIR, "a symbolic link, not a directory (summaries go into a real one)")
    directory.mkdir(parents=True, exist_ok=True)
    for entry in os.scandir(directory):
        if FILE_NAME.match(entry.name) and not entry.is_dir(follow_symlinks=False):
            os.unlink(entry.path)
    when = verified_at or report.generated
    written = []
    for image in passed_images(report):
        target = directory / file_name(image.sha256)
        write_atomic(target, encode(statement(image, policy, verifier, when)) + b"\n")
        written.append(target)
    return written
