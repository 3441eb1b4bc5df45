"""DynamoDB adapters: the only code that knows item shapes and condition expressions."""
