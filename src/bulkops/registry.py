"""Operation name -> Operation class."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar, overload

from bulkops.exceptions import UnknownOperation
from bulkops.operations.base import FunctionOperation, Operation

_registry: dict[str, type[Operation]] = {}

OpT = TypeVar("OpT", bound=type[Operation])


def register(operation_class: OpT) -> OpT:
    name = operation_class.name
    if not name:
        raise ValueError(f"{operation_class.__qualname__} must set 'name' to be registered.")
    existing = _registry.get(name)
    if existing is not None and existing.__qualname__ != operation_class.__qualname__:
        raise ValueError(
            f"Operation name {name!r} is already used by {existing.__module__}."
            f"{existing.__qualname__}; choose another name."
        )
    _registry[name] = operation_class
    return operation_class


def unregister(name: str) -> None:
    _registry.pop(name, None)


def get_operation(name: str) -> type[Operation]:
    try:
        return _registry[name]
    except KeyError:
        known = ", ".join(sorted(_registry)) or "none"
        raise UnknownOperation(f"No bulk operation named {name!r} (registered: {known}).") from None


def all_operations() -> dict[str, type[Operation]]:
    return dict(_registry)


@overload
def operation(target: OpT, /) -> OpT: ...
@overload
def operation(
    target: str | None = None, /, *, label: str = "", permission: str | None = None
) -> Callable[[Any], Any]: ...


def operation(target: Any = None, /, *, label: str = "", permission: str | None = None) -> Any:
    """Register a project's own operation.

    ``@operation`` on an :class:`Operation` subclass registers it under its ``name``;
    ``@operation("name")`` on a function ``f(ctx)`` wraps it in an operation.
    """
    if isinstance(target, type):
        return register(target)

    def decorator(obj: Any) -> Any:
        if isinstance(obj, type):
            if target:
                obj.name = target  # type: ignore[attr-defined]
            return register(obj)
        name = target or f"{obj.__module__}.{obj.__qualname__}"
        attrs = {
            "name": name,
            "label": label or obj.__name__.replace("_", " ").capitalize(),
            "permission": permission,
            "function": staticmethod(obj),
            "__module__": obj.__module__,
            "__qualname__": f"FunctionOperation[{name}]",
        }
        register(type(f"FunctionOperation_{obj.__name__}", (FunctionOperation,), attrs))
        return obj

    return decorator
