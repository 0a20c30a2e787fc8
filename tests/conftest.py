"""Test-wide settings: hypothesis profiles (`ci` by default; `deep` with HYPOTHESIS_PROFILE=deep)."""

import os

from hypothesis import HealthCheck, settings

from tests.emulators.firestore import firestore_client as firestore_client
from tests.emulators.firestore import firestore_emulator as firestore_emulator

settings.register_profile(
    "ci",
    max_examples=15,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
    derandomize=False,
    print_blob=True,
)
settings.register_profile(
    "deep",
    max_examples=300,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
    print_blob=True,
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))
