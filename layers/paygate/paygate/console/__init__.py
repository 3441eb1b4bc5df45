"""The web console's core: its users and their passwords, sign-in sessions, and the audit log.

No HTTP here: functions/console/ builds the pages on these services (paygate.deps wires them).
"""
