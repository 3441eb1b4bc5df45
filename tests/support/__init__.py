"""Test helpers shared across the suite (loaded as `tests.support`)."""
