"""Rules of the base-image gate: stable IDs, severities and the text `gates explain` prints.

Light on purpose (no imports beyond the model), so `gates list` stays fast.
"""

from __future__ import annotations

from gates.model import Severity
from gates.rules import Rule

GATE = "base-image"

IMAGE_AGE = "base-image-age"
BASE_AGE = "base-image-base-age"
BASE_DRIFT = "base-image-base-drift"
APPROVED_BASE = "base-image-approved-base"
PINNING = "base-image-pinning"
NON_ROOT = "base-image-non-root"
OS_EOL = "base-image-os-eol"
OS_UNKNOWN = "base-image-os-unknown"
POINT_RELEASE_LAG = "base-image-point-release-lag"
VULNERABLE_PACKAGE = "base-image-vulnerable-package"
DOCKERFILE_ROOT = "base-image-dockerfile-root"
DOCKERFILE_REMOTE_ADD = "base-image-dockerfile-remote-add"
DOCKERFILE_CREDENTIAL = "base-image-dockerfile-credential"
DOCKERFILE_PIPE_TO_SHELL = "base-image-dockerfile-pipe-to-shell"
DOCKERFILE_INSECURE_RUN = "base-image-dockerfile-insecure-run"
DOCKERFILE_INSTALL_RECOMMENDS = "base-image-dockerfile-install-recommends"
DOCKERFILE_RULES = (DOCKERFILE_ROOT, DOCKERFILE_REMOTE_ADD, DOCKERFILE_CREDENTIAL, DOCKERFILE_PIPE_TO_SHELL,
                    DOCKERFILE_INSECURE_RUN, DOCKERFILE_INSTALL_RECOMMENDS)
"""Read from the Dockerfile an image was built from (`dockerfile`, `[[base-image.builds]]`), as pinning is."""
ROLLING_STALE = "base-image-rolling-stale"

RULES: tuple[Rule, ...] = (
    Rule(
        id=IMAGE_AGE,
        gate=GATE,
        title="The image was built within the allowed number of days",
        severity=Severity.MEDIUM,
        rationale=(
            "An image is frozen at build time: every fix published since is missing from it. Old "
            "images accumulate known vulnerabilities even when nothing else about them changes. A "
            "zero or epoch `created` (reproducible builds) gives no age and is reported as unknown."
        ),
        remediation=(
            "Rebuild and redeploy regularly (a scheduled pipeline), or raise `max-age-days` for images "
            "that are deliberately frozen. For reproducible builds, set "
            "`org.opencontainers.image.created` to the real build time."
        ),
    ),
    Rule(
        id=BASE_AGE,
        gate=GATE,
        title="The base image was built within the allowed number of days",
        severity=Severity.MEDIUM,
        rationale=(
            "The base supplies the OS and most packages; if the base itself is stale, a freshly built "
            "image still ships old libraries."
        ),
        remediation="Move to a current tag of the base image, or a base that is rebuilt regularly.",
    ),
    Rule(
        id=BASE_DRIFT,
        gate=GATE,
        title="The base tag still points at the digest the image was built on",
        severity=Severity.MEDIUM,
        rationale=(
            "When a base tag moves to a new digest, its maintainers rebuilt it, usually for security "
            "updates; images built on the old digest miss those patches."
        ),
        remediation=(
            "Rebuild the image so it picks up the current base digest (automate with Renovate or Dependabot)."
        ),
    ),
    Rule(
        id=APPROVED_BASE,
        gate=GATE,
        title="The base image comes from an approved registry and repository",
        severity=Severity.HIGH,
        rationale=(
            "Bases from unreviewed sources can carry malware, typosquatted names or unmaintained "
            "software; an allow-list keeps the supply chain to images the organisation trusts. An "
            "unknown base cannot be shown to be approved, and a named base (annotation, label, "
            "Dockerfile or BuildKit's unsigned provenance: all written by whoever built the image) counts "
            "only when its layers are the image's first layers."
        ),
        remediation=(
            "Build on an image matching one of the `allowed` globs, or add the base to the list after "
            "review. Record the base with the `org.opencontainers.image.base.name` and `.base.digest` "
            "annotations (as `docker buildx` does) or attach BuildKit provenance (mode=max), and keep them"
            " and the Dockerfile true to the build."
        ),
    ),
    Rule(
        id=PINNING,
        gate=GATE,
        title="Every FROM pins its image by digest and none uses `latest`",
        severity=Severity.MEDIUM,
        rationale=(
            "Tags are mutable: `latest` or any tag can be repointed, so the same Dockerfile builds "
            "different images over time, and a compromised tag is pulled silently. A digest names "
            "exactly one image."
        ),
        remediation="Write `FROM image:tag@sha256:...` and let a bot update the digest.",
    ),
    Rule(
        id=NON_ROOT,
        gate=GATE,
        title="The image runs as a non-root user",
        severity=Severity.HIGH,
        rationale=(
            "A process running as root in a container is one kernel or runtime bug away from root on "
            "the node; an empty `User`, `root`, or uid 0 all mean root."
        ),
        remediation="Add `USER <uid>` (a numeric uid other than 0) to the final stage of the Dockerfile.",
    ),
    Rule(
        id=OS_EOL,
        gate=GATE,
        title="The image's OS release is still supported by its distribution",
        severity=Severity.HIGH,
        rationale=(
            "After end of life a distribution publishes no security fixes, so vulnerabilities found "
            "later stay open for good. Which phase counts (security support or extended/LTS) is "
            "configurable."
        ),
        remediation="Move to a supported release of the distribution (or a base built on one).",
    ),
    Rule(
        id=OS_UNKNOWN,
        gate=GATE,
        title="The image's OS release is known to the end-of-life data",
        severity=Severity.LOW,
        rationale=(
            "An OS that cannot be identified, or that the shipped end-of-life data does not list, "
            "cannot be shown to be supported; it is reported rather than assumed fine."
        ),
        remediation=(
            "Use a base with a standard `/etc/os-release`, or refresh the data (`gates data update`). "
            "Rolling distributions (Wolfi, Chainguard, Alpine edge, Arch, openSUSE Tumbleweed) are not "
            "reported here: `base-image-rolling-stale` judges them."
        ),
    ),
    Rule(
        id=POINT_RELEASE_LAG,
        gate=GATE,
        title="The OS is not behind its release's newest point release",
        severity=Severity.LOW,
        rationale=(
            "A point release (Debian 12.5 -> 12.6, Alpine 3.19.1 -> 3.19.4) rolls up security updates; "
            "an image several point releases behind misses them even on a supported release."
        ),
        remediation="Rebuild on the current base tag, or run the package manager's upgrade in the build.",
    ),
    Rule(
        id=VULNERABLE_PACKAGE,
        gate=GATE,
        title="No installed OS package is affected by a published advisory with a fix",
        severity=Severity.HIGH,
        rationale=(
            "The distribution already published a fixed package for this advisory; the image simply "
            "has not picked it up. Versions are compared with the distribution's own ordering (dpkg "
            "epochs and `~`, apk suffixes)."
        ),
        remediation=(
            "Rebuild on a current base or upgrade the package (`apt-get upgrade`, `apk upgrade`) to the "
            "fixed version named in the finding."
        ),
    ),
    Rule(
        id=DOCKERFILE_ROOT,
        gate=GATE,
        title="The final stage of the Dockerfile ends on a non-root USER",
        severity=Severity.MEDIUM,
        rationale=(
            "Without a USER (in the final stage or the stages it builds on) the image runs as its base's "
            "user, root for most bases; a last `USER root` or `USER 0` runs everything as root. The "
            "image's own config is judged by base-image-non-root; this names the Dockerfile line to change. "
            "A USER given by a variable is left to base-image-non-root."
        ),
        remediation="End the final stage with `USER <uid>` (a numeric uid other than 0, e.g. `USER 10001`).",
        reference="https://docs.docker.com/reference/dockerfile/#user",
    ),
    Rule(
        id=DOCKERFILE_REMOTE_ADD,
        gate=GATE,
        title="ADD of a remote URL pins its content with --checksum",
        severity=Severity.MEDIUM,
        rationale=(
            "`ADD https://...` puts whatever the server answers today into the image: a compromised or "
            "changed download goes unnoticed. `--checksum=sha256:...` makes the build fail instead. A git "
            "source is pinned by a commit in its fragment (`#<40 hex digits>`) or --checksum."
        ),
        remediation="Add `--checksum=sha256:<digest>` to the ADD, or download and verify in a RUN step.",
        reference="https://docs.docker.com/reference/dockerfile/#add---checksum",
    ),
    Rule(
        id=DOCKERFILE_CREDENTIAL,
        gate=GATE,
        title="No credential in an ENV or ARG",
        severity=Severity.HIGH,
        rationale=(
            "ENV values are stored in the image config, and ARG values in its build history: anyone who "
            "can pull the image can read them. A name that says password, secret, token, API key, private "
            "key, credential or auth (not `..._FILE`, `..._PATH` or `..._URL`), or a value shaped like a "
            "known token (AWS, GitHub, GitLab, Slack, npm, Stripe, Google, a private key, a URL with a "
            "password) counts. The finding names the key, never the value."
        ),
        remediation=(
            "Pass secrets with `RUN --mount=type=secret,id=...` (BuildKit) and at run time from the "
            "orchestrator's secrets; rotate a credential that was committed."
        ),
        reference="https://docs.docker.com/build/building/secrets/",
    ),
    Rule(
        id=DOCKERFILE_PIPE_TO_SHELL,
        gate=GATE,
        title="No script downloaded and run in one step (`curl ... | sh`)",
        severity=Severity.HIGH,
        rationale=(
            "Piping curl or wget into a shell or interpreter runs whatever the server sends, unverified "
            "and unrecorded: a compromised host or a cut connection becomes code in the build. "
            "`sh -c \"$(curl ...)\"` and `bash <(curl ...)` are the same."
        ),
        remediation=(
            "Download to a file, check its checksum or signature (`sha256sum -c`), then run it; or "
            "install the tool from the distribution's packages."
        ),
    ),
    Rule(
        id=DOCKERFILE_INSECURE_RUN,
        gate=GATE,
        title="No RUN --security=insecure",
        severity=Severity.HIGH,
        rationale=(
            "`RUN --security=insecure` runs the step without the sandbox, like a privileged container: "
            "the build step can reach the builder's host. It needs the builder's `security.insecure` "
            "entitlement, which should stay off."
        ),
        remediation="Remove the flag; do what needed privileges outside the image build.",
        reference="https://docs.docker.com/reference/dockerfile/#run---security",
    ),
    Rule(
        id=DOCKERFILE_INSTALL_RECOMMENDS,
        gate=GATE,
        title="apt-get install is given --no-install-recommends",
        severity=Severity.INFO,
        rationale=(
            "By default apt installs recommended packages too: more packages in the image, more "
            "advisories to patch, with nothing in the Dockerfile naming them."
        ),
        remediation=(
            "Write `apt-get install -y --no-install-recommends PACKAGE...` (or "
            "`-o APT::Install-Recommends=false`) and list what is really needed."
        ),
    ),
    Rule(
        id=ROLLING_STALE,
        gate=GATE,
        title="A rolling distribution's image holds recently built packages",
        severity=Severity.MEDIUM,
        rationale=(
            "Wolfi, Chainguard, Alpine edge, Arch, openSUSE Tumbleweed and Debian testing have no releases "
            "that reach end of life: every fix ships as a newer package build, and an image keeps the "
            "builds it was made with. How long ago the newest of them was built (apk `t:`, rpm "
            "BUILDTIME; the image's `created` when no package records one) says how many updates the "
            "image has missed."
        ),
        remediation=(
            "Rebuild the image (with the package manager's upgrade) so it picks up current packages, or "
            "raise `max-package-age-days` for an image that is deliberately frozen."
        ),
    ),
)
