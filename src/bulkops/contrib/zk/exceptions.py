"""What can go wrong talking to a time clock, one class per thing the caller can act on."""

from __future__ import annotations

from bulkops.texts import Text


class DeviceError(Exception):
    """Base class; ``device`` names the clock (its label, or host:port) in every message."""

    #: Whether trying again later (or after a reconnect) can help.
    retryable = False

    def __init__(self, device: str, message: Text | str) -> None:
        self.device = device
        # Shown to users in their language (bulkops.texts); logs read the English.
        self.detail = message
        english = message.english if isinstance(message, Text) else message
        super().__init__(f"{device}: {english}")


class DeviceUnreachable(DeviceError):
    """No connection could be made: wrong host or port, device off, network down."""

    retryable = True


class DeviceConnectionLost(DeviceUnreachable):
    """The connection broke in the middle of a conversation (e.g. during a download)."""


class DeviceTimeout(DeviceError):
    """The device did not answer in time, or a call outlived its hard deadline."""

    retryable = True


class DeviceAuthError(DeviceError):
    """The device refused the comm key (password). Retrying does not help."""


class DeviceProtocolError(DeviceError):
    """The device answered, but with an error or with bytes that make no sense."""


class InvalidUserData(DeviceError, ValueError):
    """A user cannot be stored on this device as given (e.g. a non-numeric PIN on a
    device with 28-byte user records). ``field`` names the offending value."""

    def __init__(self, device: str, message: Text | str, *, field: str) -> None:
        self.field = field
        super().__init__(device, message)


class DeviceBusy(DeviceError):
    """Another job holds this device's session; try again when it has finished."""

    retryable = True


class SyncFailed(Exception):
    """A zk job could not reach (or finish on) some of its devices; the message says
    which, and why. The other devices' work is kept."""
