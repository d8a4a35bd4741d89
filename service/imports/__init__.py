"""Bulk imports from spreadsheets: the place tree and the member roster (花名册).

A bad row is reported and skipped, good rows land, and running the same file again
changes nothing.
"""
