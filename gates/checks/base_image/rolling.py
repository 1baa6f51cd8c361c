"""How stale a rolling distribution's image is: the age of its newest package build, else of the image.

The answer is data (`Staleness`), so the gate decides what becomes a finding, a detail or a problem.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from gates.distro.pkgdb import PackageDB
from gates.distro.rolling import Rolling, newest_build
from gates.oci.image_config import Timestamp
from gates.wording import counted


@dataclass(frozen=True)
class Staleness:
    """One rolling image's age and what to say about it."""

    days: int | None
    """None when neither a package nor the image records when it was built."""
    said: str
    """What was measured, for the finding or details line."""
    too_old: bool = False


def staleness(rolling: Rolling, db: PackageDB | None, created: Timestamp, limit: int,
              now: dt.datetime) -> Staleness:
    """The age of the newest package build (the image's `created` when no package has a build time)."""
    newest = newest_build(db.packages) if db is not None else None
    if newest is not None:
        package = newest.package
        if newest.built - now > dt.timedelta(days=1):  # a lie that would hide every stale package
            shown = newest.built.date().isoformat() if newest.built.year < dt.MAXYEAR else "after 9999"
            return Staleness(None, f"{rolling.name}: package {package.name} {package.version} records a build"
                                   f" time in the future ({shown}): its age is unknown")
        days = (now - newest.built).days
        what = (f"{rolling.name}: its newest package, {package.name} {package.version}, was built "
                f"{newest.built.date().isoformat()}")
    else:
        age = created.age_days(now)
        if age is None or age < -1:
            reason = created.unknown_reason if age is None else "in the future"
            return Staleness(None, f"{rolling.name}: no package records a build time and the image's created is"
                                   f" {reason} ({created.raw!r}): its age is unknown")
        days = age
        assert created.value is not None
        what = (f"{rolling.name}: no package records a build time; the image was built "
                f"{created.value.date().isoformat()}")
    if days > limit:
        return Staleness(days, f"{what}, {counted(days, 'day')} ago, more than the {limit} allowed (no release of a"
                               " rolling distribution reaches end of life: its packages age instead)", True)
    return Staleness(days, f"{what}, {counted(max(days, 0), 'day')} ago (at most {limit} allowed)")
