"""Where backup files live: the `Storage` seam and its implementations."""
