"""The pure domain of Lianxin: rules and vocabulary with no framework and no I/O.

Everything here is plain Python (dataclasses, enums, functions) so that it can be
tested without a database and reused by every adapter.
"""
