"""Offline, pure-data parts of the base-image gate: they read bytes, never a registry or a layer.

- `os_release`: which distribution and release (os-release, debian_version, redhat-release, ...).
- `pkgdb`: installed packages from dpkg `status` / distroless `status.d` / apk `installed`.
- `versions`: dpkg and apk version ordering (on `univers`).
- `advisories`: an OSV database (directory or zip) matched against installed packages.
- `eol`: end-of-life and point-release answers from the shipped `gates/data/distro-eol.json`.
- `dockerfile`: FROM lines, the final stage's base, pinning.
- `image_config`: config blob (created, user, labels) and manifest annotations.
- `rules`: the gate's rule metadata.
"""
