"""Tests of the Flask surface: config, routes, CLI, CSRF and redaction."""
