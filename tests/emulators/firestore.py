"""Google's Firestore emulator for tests: found, started on a free port, wiped between tests, stopped by PID.

Where the jar or java is missing, tests that use it are skipped with a loud reason, never faked."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from google.auth.credentials import AnonymousCredentials
from google.cloud import firestore

PACKAGE = "google-cloud-cli-firestore-emulator"
KNOWN_JAR = Path("/usr/lib/google-cloud-sdk/platform/cloud-firestore-emulator/cloud-firestore-emulator.jar")
PROJECT = "demo-test"
STARTUP_SECONDS = 90


@dataclass(frozen=True)
class FirestoreEmulator:
    host: str
    """host:port, the value of FIRESTORE_EMULATOR_HOST."""
    project: str

    def wipe(self) -> None:
        url = f"http://{self.host}/emulator/v1/projects/{self.project}/databases/(default)/documents"
        request = urllib.request.Request(url, method="DELETE")
        with urllib.request.urlopen(request, timeout=30) as response:
            assert response.status == 200, f"wiping the Firestore emulator answered {response.status}"

    def client(self) -> firestore.Client:
        return firestore.Client(project=self.project, credentials=AnonymousCredentials())  # type: ignore[no-untyped-call]


def find_emulator_jar() -> Path | None:
    if shutil.which("dpkg"):
        listing = subprocess.run(["dpkg", "-L", PACKAGE], capture_output=True, text=True, check=False)
        for line in listing.stdout.splitlines():
            if line.endswith("cloud-firestore-emulator.jar") and Path(line).is_file():
                return Path(line)
    return KNOWN_JAR if KNOWN_JAR.is_file() else None


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _answers_ok(host: str) -> bool:
    try:
        with urllib.request.urlopen(f"http://{host}/", timeout=2) as response:
            return bool(response.read().strip() == b"Ok")
    except (urllib.error.URLError, OSError):
        return False


def _stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=15)


@pytest.fixture(scope="session")
def firestore_emulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FirestoreEmulator]:
    jar = find_emulator_jar()
    java = shutil.which("java")
    if jar is None or java is None:
        missing = "the emulator jar" if jar is None else "java"
        pytest.skip(
            f"LOUD SKIP: Firestore tests NOT RUN because {missing} is missing; install the Debian package "
            f"{PACKAGE} and Java 17 to run them"
        )
    host = f"127.0.0.1:{_free_port()}"
    log_path = tmp_path_factory.mktemp("firestore-emulator") / "emulator.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [java, "-Duser.language=en", "-cp", str(jar),
             "com.google.cloud.datastore.emulator.firestore.CloudFirestore", "start",
             "--host=127.0.0.1", f"--port={host.split(':')[1]}"],
            stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
        )
    try:
        deadline = time.monotonic() + STARTUP_SECONDS
        while not _answers_ok(host):
            if process.poll() is not None or time.monotonic() > deadline:
                tail = log_path.read_text(errors="replace")[-2000:]
                pytest.fail(f"the Firestore emulator did not start on {host}:\n{tail}")
            time.sleep(0.2)
        previous = os.environ.get("FIRESTORE_EMULATOR_HOST")
        os.environ["FIRESTORE_EMULATOR_HOST"] = host
        try:
            yield FirestoreEmulator(host=host, project=PROJECT)
        finally:
            if previous is None:
                os.environ.pop("FIRESTORE_EMULATOR_HOST", None)
            else:
                os.environ["FIRESTORE_EMULATOR_HOST"] = previous
    finally:
        _stop(process)


@pytest.fixture
def firestore_client(firestore_emulator: FirestoreEmulator) -> Iterator[firestore.Client]:
    """A client on an emptied emulator."""
    firestore_emulator.wipe()
    client = firestore_emulator.client()
    try:
        yield client
    finally:
        client.close()  # type: ignore[no-untyped-call]
