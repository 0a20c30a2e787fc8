"""The comment lines of pg_dump's plain output that its readers go by."""

from __future__ import annotations

TRAILER = b"-- PostgreSQL database dump complete\n"
SECTION_COMMENTS = (b"-- Name: ", b"-- Data for Name: ")
"""The comment lines that open each object's part of the dump."""
LARGE_OBJECT_SECTIONS = (b"; Type: BLOBS;", b"; Type: LARGE OBJECTS;", b"; Type: BLOB DATA;")
