"""The golden tables: a small fixed run of the baseline stored as CSV, compared exactly by tests/test_golden.py."""
