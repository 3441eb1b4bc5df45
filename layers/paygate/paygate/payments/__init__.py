"""Payments: BeeCloud bills and refunds, from the API call to the final state (callbacks, follow-ups)."""
