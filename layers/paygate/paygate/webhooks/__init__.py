"""Signed merchant webhooks: endpoints, fan-out, delivery with retries, the delivery log, resend."""
