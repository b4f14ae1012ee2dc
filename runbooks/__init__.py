"""Breaking Point: storage runbooks as Invoke tasks, and the lab that breaks things.

Every subpackage is one domain (mounts, lab, ...) exposing an Invoke
``Collection`` named ``ns``. Modules import heavy libraries lazily so that
``invoke --list`` stays well under half a second.
"""

__version__ = "0.1.0"
