"""HTTP adapters of the Cloud Functions: parse and validate the request, authorize, call the core, answer."""
