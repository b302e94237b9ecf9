"""The JSON API: the task pages' rules and actions for JavaScript front ends.

Reference: docs/reference/json-api.md. The OpenAPI document is ``openapi.document()``.
"""
