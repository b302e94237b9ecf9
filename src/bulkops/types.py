from __future__ import annotations

from typing import Any, TypeAlias

# An AUTH_USER_MODEL instance or AnonymousUser. Projects swap the user model, so the
# library only relies on is_authenticated and has_perm.
UserLike: TypeAlias = Any
