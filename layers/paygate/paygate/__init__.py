"""paygate: the shared layer (domain, store, provider adapters, events, API glue)."""
