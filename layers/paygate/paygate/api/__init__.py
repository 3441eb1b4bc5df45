"""HTTP glue shared by the API functions: resolver, auth, error shape, idempotency."""
