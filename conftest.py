"""Repository-wide pytest setup: the lab fixtures and the executed docs (see tests/)."""

pytest_plugins = ["tests.lab_plugin", "tests.doc_plugin", "tests.site_plugin"]
