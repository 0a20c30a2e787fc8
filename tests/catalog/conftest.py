"""Fixtures for the catalog tests: Google's Firestore emulator (skipped loudly where it is missing)."""

from tests.emulators.firestore import firestore_client as firestore_client
from tests.emulators.firestore import firestore_emulator as firestore_emulator
