"""Invoke entry point. Thin on purpose: the collections live in runbooks/."""

from runbooks.namespace import build

ns = build()
