from bulkops.operations.base import Operation

__all__ = ["Operation"]
