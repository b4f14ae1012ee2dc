"""Task definitions that become Invoke tasks only when Invoke asks for them.

``runbook_task`` (core.runner) returns a :class:`RunbookTask`: the task body
with its full signature, option help texts and argument hints. A domain module
lists its tasks with :func:`collection`. runbooks.namespace turns both into
Invoke's Task and Collection for ``invoke`` and ``bp``'s full program, while
``bp``'s fast path (runbooks.fastpath) runs the very same body straight from
the command line. Importing a domain therefore costs no Invoke import, which
is most of what one monitoring check used to cost.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from invoke import Collection, Task


class RunbookTask:
    """One task: its body (``body(context, **options)``), name and option hints."""

    def __init__(self, body: Callable[..., Any], name: str | None = None,
                 help: dict[str, str] | None = None, iterable: Iterable[str] = (),
                 positional: Iterable[str] | None = None) -> None:
        self.body = body
        self.name = name or body.__name__
        self.help = dict(help or {})
        self.iterable = list(iterable)
        self.positional = None if positional is None else list(positional)
        self.__doc__ = body.__doc__
        self._task: Task | None = None

    @property
    def cli_name(self) -> str:
        """The name on the command line (Invoke turns underscores into dashes)."""
        return self.name.replace("_", "-")

    @property
    def signature(self) -> inspect.Signature:
        return inspect.signature(self.body)

    def positional_names(self) -> list[str]:
        """Options that may be given without their flag: Invoke's rule, no default."""
        if self.positional is not None:
            return self.positional
        params = list(self.signature.parameters.values())[1:]  # [0] is the context
        return [p.name for p in params if p.default is inspect.Parameter.empty]

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self.body(*args, **kwargs)

    def to_invoke(self) -> Task:
        """This task as Invoke's (typed, see core.entry); made once, on first use."""
        if self._task is None:
            from .entry import TypedTask

            kwargs: dict[str, Any] = {"help": self.help, "iterable": self.iterable}
            if self.name != self.body.__name__:
                kwargs["name"] = self.name
            if self.positional is not None:
                kwargs["positional"] = self.positional
            self._task = TypedTask(self.body, **kwargs)
        return self._task


class TaskGroup:
    """A domain's tasks under one name (``mounts``): Invoke's Collection, made on demand."""

    def __init__(self, name: str, tasks: Iterable[RunbookTask]) -> None:
        self.name = name
        self.tasks = list(tasks)

    def find(self, cli_name: str) -> RunbookTask | None:
        """The task called ``cli_name`` on the command line, if this group has it."""
        return next((t for t in self.tasks if t.cli_name == cli_name), None)

    def to_invoke(self) -> Collection:
        from invoke import Collection

        ns = Collection(self.name)
        for task in self.tasks:
            ns.add_task(task.to_invoke())
        return ns


def collection(name: str, *tasks: RunbookTask) -> TaskGroup:
    """The tasks a domain module offers, as ``ns = collection("mounts", audit, fix)``."""
    return TaskGroup(name, tasks)
