"""Benchmarks, run by `make bench` (python -m bench). They print figures; they never assert."""
