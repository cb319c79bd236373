"""Utilities for users and for testing sklearn-ednn estimators."""
