"""The site build: generated pages, link checks, badges and the MkDocs hooks.

Only a checkout builds the site, so the monitoring package leaves this out
(pyproject.toml excludes it). ``tasks`` holds the `site` collection;
``hooks`` is loaded by MkDocs (mkdocs.yml) by path.
"""
