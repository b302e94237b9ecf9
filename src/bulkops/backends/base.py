from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any, ClassVar

from django.core import checks

if TYPE_CHECKING:
    from bulkops.models import BulkTask


class BaseBackend(ABC):
    """Moves a task id to a worker that calls ``bulkops.runner.run``; nothing else."""

    #: The queue can withdraw a task that has not started yet.
    supports_revoke: ClassVar[bool] = False
    #: A task whose worker died is delivered again by the queue itself.
    redelivers_on_worker_loss: ClassVar[bool] = False

    def __init__(self, options: dict[str, Any]) -> None:
        self.options = options

    @abstractmethod
    def enqueue(self, task: BulkTask) -> str:
        """Hand the task's id to the queue; return the queue's own id for it ('' if none)."""

    def revoke(self, task: BulkTask) -> None:
        """Withdraw a queued task; backends that cannot do so ignore the call."""
        return None

    def check(self) -> Iterable[checks.CheckMessage]:
        """System-check messages about this backend's configuration."""
        return []

    @classmethod
    def path(cls) -> str:
        return f"{cls.__module__}.{cls.__qualname__}"


def missing_library(backend: str, module: str, extra: str) -> checks.Error:
    return checks.Error(
        f"{backend} needs the '{module}' library, which is not installed.",
        hint=f"pip install 'django-bulkops[{extra}]'",
        id="bulkops.E002",
    )


def missing_app(backend: str, app: str) -> checks.Error:
    return checks.Error(
        f"{backend} needs '{app}' in INSTALLED_APPS.",
        hint=f"Add '{app}' to INSTALLED_APPS and run migrate.",
        id="bulkops.E003",
    )
