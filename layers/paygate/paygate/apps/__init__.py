"""Apps (tenants): creating them, their API keys, and how a request proves which app it is."""
