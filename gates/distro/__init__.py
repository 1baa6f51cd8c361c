"""Linux distributions as data: which release an image runs, its packages, their advisories, its support dates.

Pure functions over bytes and files, never a registry or a layer: the base-image gate uses them today,
and any gate that judges what an OS ships can.

- `os_release`: which distribution and release (os-release, debian_version, redhat-release, ...).
- `pkgdb`: installed packages from dpkg `status` / distroless `status.d` / apk `installed` / rpm.
- `rpmdb`: rpm's databases (SQLite, BerkeleyDB via `bdb_hash`, NDB via `rpm_ndb`, the Mariner manifest),
  each record a header blob read by `rpmheader`.
- `rolling`: rolling distributions (Wolfi, Alpine edge, Arch, ...) and the age of an image's newest build.
- `versions`: dpkg, apk and rpm version ordering (on `univers`).
- `advisories`: an OSV database (directory or zip) matched against installed packages.
- `eol`: end-of-life and point-release answers from the shipped `gates/data/distro-eol.json`.
- `eol_build`: rebuilds that file from endoflife.date pages (`gates data update`).
"""
