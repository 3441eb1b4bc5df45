"""BeilyPay v2 emulator: payouts, collections, balance, signed notifies with retries, failure injection."""
