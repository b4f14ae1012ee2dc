"""The shared runbook core: targets (collect), findings (judge), renderers (report)."""
