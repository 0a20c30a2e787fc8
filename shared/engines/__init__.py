"""Dump engines: one module per database engine, all speaking the `DumpEngine` protocol."""
