"""Fingerprint template calls of the client (mixed into ``ZKClient``).

Templates are read with pyzk's ``get_templates`` and written with the buffered
upload pyzk's ``save_user_template`` uses, so a user and all their fingers arrive
in one transfer the device applies whole, or not at all.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import partial
from typing import TYPE_CHECKING, Any, TypeVar

from . import protocol as p
from ._transport import GuardedZK, upload_users
from .records import DeviceTemplate, DeviceUser, UserFormat

T = TypeVar("T")

#: Users per upload: keeps one transfer well under what a device buffers.
UPLOAD_USERS = 50


class TemplateCalls:
    if TYPE_CHECKING:  # provided by ZKClient
        label: str
        encoding: str
        name_max_bytes: int | None

        def user_format(self) -> UserFormat: ...
        def _retrying(self, what: str, op: Callable[[], T]) -> T: ...
        def _with_zk(
            self, what: str, fn: Callable[[GuardedZK], T], budget: float | None = None
        ) -> T: ...
        def _device_call(self, what: str, method: str, *args: object) -> Any: ...

    def get_templates(self) -> list[DeviceTemplate]:
        def read(zk: GuardedZK) -> list[DeviceTemplate]:
            return [
                DeviceTemplate(int(f.uid), int(f.fid), bytes(f.template), int(f.valid))
                for f in zk.get_templates()
            ]

        return self._retrying("read fingerprints", lambda: self._with_zk("read fingerprints", read))

    def set_users_with_templates(
        self, pairs: Sequence[tuple[DeviceUser, Sequence[DeviceTemplate]]]
    ) -> list[DeviceUser]:
        """Create or replace each user (by ``uid``) together with the given fingers;
        other fingers the device holds for them stay. Returns the users as stored.
        Raises InvalidUserData (naming the field) before anything is sent."""
        fmt = self.user_format()
        stored = [
            fmt.prepare(user, self.label, self.encoding, self.name_max_bytes) for user, _ in pairs
        ]
        for start in range(0, len(pairs), UPLOAD_USERS):
            users = stored[start : start + UPLOAD_USERS]
            records = [fmt.upload_record(user, self.encoding) for user in users]
            fingers = [
                (user.uid or 0, t.finger, t.template)
                for user, (_, templates) in zip(
                    users, pairs[start : start + UPLOAD_USERS], strict=True
                )
                for t in templates
                if t.finger in p.FINGERS and t.template
            ]

            self._retrying("write users with fingerprints", partial(self._upload, records, fingers))
        return stored

    def _upload(self, records: list[bytes], fingers: list[tuple[int, int, bytes]]) -> None:
        size = self.user_format().size

        def write(zk: GuardedZK) -> None:
            zk.user_packet_size = size
            upload_users(zk, records, fingers)

        self._with_zk("write users with fingerprints", write)

    def delete_template(self, uid: int, finger: int) -> bool:
        """Delete one finger; False when the device held none there."""
        return bool(
            self._retrying(
                "delete a fingerprint",
                lambda: self._device_call(
                    f"delete fingerprint {finger} of #{uid}", "delete_user_template", uid, finger
                ),
            )
        )
