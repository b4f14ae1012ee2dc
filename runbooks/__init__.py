"""Breaking Point: storage runbooks as Invoke tasks, and the lab that breaks things.

Every subpackage is one domain (mounts, lab, ...) exposing an Invoke
task group named ``ns`` (core.taskdef), except ``core`` (what the domains share), ``site``
(the site build; its collection is ``site.tasks.ns``) and ``testsuite`` (the
``test`` task). runbooks.namespace assembles them. Modules import heavy
libraries lazily so that ``invoke --list`` stays well under half a second.
"""

__version__ = "0.1.0"
