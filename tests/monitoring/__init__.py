"""Tests of the monitoring integrations: Prometheus rules and the monitoring lab."""
