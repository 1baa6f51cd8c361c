"""Write actions/common/requirements.lock: gates' runtime and build dependencies, pinned with hashes.

The GitHub Actions install from it with `pip install --require-hashes --no-deps`, so a job installs
exactly the files reviewed here, whatever an index serves that day, and resolves nothing. Run it
after changing `dependencies` or `[build-system] requires` in pyproject.toml (needs pip-tools:
`pip install pip-tools`; it reads PyPI only, never a local pip configuration, so the hashes are
PyPI's):

    python scripts/lock_action_requirements.py

Markers on the top-level requirements are dropped before resolving (`tomli; python_version <
'3.11'` is locked and installed everywhere), so one lock serves every Python the actions run on.
The first line records a digest of what was locked from; tests/ci_surfaces/test_action_lock.py
fails when pyproject.toml no longer matches it.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import tempfile
from pathlib import Path

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - the maintainers' Python
    import tomli as tomllib

ROOT = Path(__file__).resolve().parents[1]
LOCK = ROOT / "actions" / "common" / "requirements.lock"
HEADER = "# locked from pyproject.toml, inputs sha256:"


def lock_inputs(pyproject: bytes) -> list[str]:
    """The requirements to lock: `dependencies` and the build requirements, markers dropped, sorted."""
    data = tomllib.loads(pyproject.decode("utf-8"))
    requirements = [*data["project"]["dependencies"], *data["build-system"]["requires"]]
    return sorted({r.split(";", 1)[0].strip() for r in requirements}, key=str.lower)


def inputs_digest(pyproject: bytes) -> str:
    return hashlib.sha256("\n".join(lock_inputs(pyproject)).encode()).hexdigest()


def main() -> int:
    pyproject = (ROOT / "pyproject.toml").read_bytes()
    # Only PyPI: no pip.conf, find-links or extra index of this machine may supply a file (or its hash).
    env = {k: v for k, v in os.environ.items() if not k.startswith("PIP_")}
    env["PIP_CONFIG_FILE"] = os.devnull
    with tempfile.TemporaryDirectory() as temp:
        source = Path(temp) / "requirements.in"
        source.write_text("\n".join(lock_inputs(pyproject)) + "\n", encoding="utf-8")
        out = Path(temp) / "requirements.lock"
        subprocess.run(["pip-compile", "--quiet", "--generate-hashes", "--allow-unsafe", "--strip-extras",
                        "--no-emit-index-url", "--no-emit-find-links", "--no-header", "--output-file", str(out),
                        str(source)], check=True, env=env, cwd=temp)
        body = out.read_text(encoding="utf-8")
    LOCK.write_text(f"{HEADER}{inputs_digest(pyproject)}\n# regenerate: python scripts/lock_action_requirements.py\n"
                    + body, encoding="utf-8")
    print(f"wrote {LOCK.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
