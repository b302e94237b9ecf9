"""A project's own operation, registered the way any project registers one."""

from __future__ import annotations

import hashlib
from typing import Any

from django.utils.translation import gettext_lazy as _

import bulkops
from bulkops.context import RunContext


@bulkops.operation("example.fingerprint", label=_("Fingerprint records"))
def fingerprint(ctx: RunContext) -> dict[str, Any]:
    """Hash a range of synthetic records in chunks: a job with no model, only progress."""
    total = int(ctx.params.get("records", 3_000_000))
    ctx.set_total(total)
    digest = hashlib.sha256()
    for batch in ctx.batches(range(total), size=50_000):
        with batch:
            for number in batch:
                # Deliberately CPU-bound so the bar visibly moves on any machine.
                for _ in range(40):
                    digest.update(number.to_bytes(8, "little"))
            batch.succeeded(len(batch))
    return {"sha256": digest.hexdigest()}
