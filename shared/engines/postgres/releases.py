"""PostgreSQL major releases as one comparable number, across the change of numbering at version 10.

A major release had two parts before 10 (9.6) and has one since (15). `server_version_num` counts both
alike, 90624 for 9.6.24 and 150020 for 15.20, so its major part (90600, 150000) orders and compares
correctly where "9" or "906" would not.
"""

from __future__ import annotations


def major_release(version_num: int) -> int:
    """The major release of a `server_version_num`: 150020 gives 150000, 90624 gives 90600."""
    unit = 10000 if version_num >= 100000 else 100
    return version_num // unit * unit


def release(major: int, minor: int = 0) -> int:
    """The major release of a version as written: 15 (or 15.4) gives 150000; 9.6 gives 90600."""
    return major * 10000 if major >= 10 else major * 10000 + minor * 100


def release_name(major_release_number: int) -> str:
    """150000 gives '15', 90600 gives '9.6'."""
    major, rest = divmod(major_release_number, 10000)
    return str(major) if major >= 10 else f"{major}.{rest // 100}"
