"""Tests of the retention policy (`shared.retention`) and the cleanup service that carries it out."""
