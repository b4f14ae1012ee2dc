"""What Invoke's entry points share: typed options, and a quiet end on a closed pipe.

``invoke`` (with tasks.py) and ``bp`` both get their task tree from
``runbooks.namespace``, so this is the one place for behaviour that Invoke
leaves to each program:

- Invoke casts an option's value with the type of its default and lets the
  ValueError of ``float("abc")`` escape as a traceback. Its ``--help`` names
  only STRING and INT values, so a float or a repeatable option reads like a
  switch. ``TypedTask`` builds its options as ``TypedArgument``: a bad number
  ends the program with one line and exit status 3, and ``--help`` shows the
  value of every option that takes one (INT, NUMBER, SECONDS, STRING). Invoke
  has no hook for the help line, so ``ParserContext.help_for`` is wrapped once;
  the wrapper only changes arguments that carry a ``metavar``.
- ``invoke … | head`` closes the pipe early. ``TypedTask`` then ends the program
  quietly with status 141 (core.pipes, which ``bp``'s fast path uses too).
"""

from __future__ import annotations

import math
from typing import Any

from invoke import Collection, Exit, Task
from invoke.parser import Argument, ParserContext

from .pipes import SIGPIPE_EXIT, reader_gone, silence_output

USAGE_EXIT = 3


# --- typed options -------------------------------------------------------------------

def metavar(name: str, kind: Any) -> str | None:
    """The value placeholder ``--help`` shows for an option (None: a switch)."""
    if kind is bool:
        return None
    seconds = name.replace("_", "-").endswith("timeout")
    if kind is float:
        return "SECONDS" if seconds else "NUMBER"
    if kind is int:
        return "SECONDS" if seconds else "INT"
    return "STRING"


def _expected(name: str, kind: Any) -> str:
    what = "a whole number" if kind is int else "a number"
    return what + (" of seconds" if metavar(name, kind) == "SECONDS" else "")


class TypedArgument(Argument):
    """An Invoke argument that names its value type and rejects a bad number in one line."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.metavar = metavar(self.names[0], self.kind)

    @property
    def flag(self) -> str:
        long = self.names[0]
        return ("--" if len(long) > 1 else "-") + long

    def _number(self, value: Any) -> int | float:
        try:
            number = self.kind(value)
        except (TypeError, ValueError):
            number = math.nan
        if isinstance(number, float) and not math.isfinite(number):
            raise Exit(f"error: {self.flag} expects {_expected(self.names[0], self.kind)}, "
                       f"got {value!r}", code=USAGE_EXIT)
        return number

    def set_value(self, value: Any, cast: bool = True) -> None:
        if not (cast and self.kind in (int, float) and not self.incrementable):
            super().set_value(value, cast=cast)
            return
        super().set_value(self._number(value), cast=False)
        self.raw_value = value


def typed(arg: Argument) -> Argument:
    """``arg`` as a TypedArgument (switches and already typed ones are returned as they are)."""
    if isinstance(arg, TypedArgument) or arg.kind is bool:
        return arg
    return TypedArgument(
        names=arg.names, kind=arg.kind, default=arg.default, help=arg.help,
        positional=arg.positional, optional=arg.optional, incrementable=arg.incrementable,
        attr_name=arg.attr_name,
    )


class TypedTask(Task):
    """An Invoke task with typed options that also ends quietly when its reader goes away."""

    def get_arguments(self, ignore_unknown_help: bool | None = None) -> list[Argument]:
        # Invoke pops each help text as it reads it: keep them for the next reader
        # (a second parser, the reference page).
        kept = dict(self.help)
        try:
            arguments = super().get_arguments(ignore_unknown_help)
        finally:
            self.help.update(kept)
        for arg in arguments:
            # Invoke picks short flags from the letters of the name, and takes the dash of
            # `connect-timeout` when the letters are used up: `--` is no flag, drop it.
            arg.names = tuple(n for n in arg.names if len(n) > 1 or n.isalnum())
        return [typed(a) for a in arguments]

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        try:
            return super().__call__(*args, **kwargs)
        except BrokenPipeError:
            if not reader_gone():
                raise  # a socket or a child's pipe broke: a real error
            silence_output()
            raise Exit(code=SIGPIPE_EXIT) from None


def as_typed(task: Task) -> TypedTask:
    """A TypedTask with the same body, name and argument hints as ``task``."""
    if isinstance(task, TypedTask):
        return task
    return TypedTask(
        task.body, name=task.name, aliases=task.aliases, positional=task.positional,
        optional=task.optional, default=task.is_default, auto_shortflags=task.auto_shortflags,
        help=task.help, pre=task.pre, post=task.post, autoprint=task.autoprint,
        iterable=task.iterable, incrementable=task.incrementable,
    )


def typed_tree(collection: Collection) -> Collection:
    """Make every task of ``collection`` and its sub-collections a TypedTask, in place."""
    for name, task in list(collection.tasks.items()):
        collection.tasks[name] = as_typed(task)
    for sub in collection.collections.values():
        typed_tree(sub)
    return collection


_plain_help_for = ParserContext.help_for


def _help_for(self: ParserContext, flag: str) -> tuple[str, str]:
    """Invoke's help line, with the value type of typed arguments (FLOAT shows none there)."""
    arg = self.flags.get(flag)
    value = getattr(arg, "metavar", None)
    if arg is None or not value:
        return _plain_help_for(self, flag)
    shown = []
    for name in self.names_for(flag):
        if len(name.strip("-")) == 1:
            shown.append(f"{name} [{value}]" if arg.optional else f"{name} {value}")
        else:
            shown.append(f"{name}[={value}]" if arg.optional else f"{name}={value}")
    return ", ".join(sorted(shown, key=len)), arg.help or ""


ParserContext.help_for = _help_for  # type: ignore[method-assign]
