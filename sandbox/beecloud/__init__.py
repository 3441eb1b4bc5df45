"""BeeCloud REST API v1 emulator: real HTTP, in-memory bills and refunds, signed webhooks, faults."""
