"""Scenario files: load and check them, run them over a Session, record them from the window."""
