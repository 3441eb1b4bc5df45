"""Hosted checkout: a payment page per session, served by the stack itself (docs/checkout.md)."""
