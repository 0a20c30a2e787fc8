"""Where the service's records live: the `Catalog` seam and its implementations."""
