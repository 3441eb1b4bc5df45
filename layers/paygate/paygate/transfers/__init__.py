"""Transfers: BeilyPay payouts and collections, from the API call to the final state (notifies, polls)."""
