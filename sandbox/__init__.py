"""Provider emulators (BeilyPay, BeeCloud) that paygate's tests and local stack talk to over real HTTP."""
