"""`make bench`: the benchmarks (cold init, warm latency and calls, local load, cost model) and what
they share. Scripts that print figures, never asserts; see docs/performance.md."""
