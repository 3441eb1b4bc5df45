from tests.functions._webhooks import receiver, webhooks  # noqa: F401
