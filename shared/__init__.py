"""Core of the database-backup service: engines, pipeline, storage, catalog and services (no HTTP)."""
