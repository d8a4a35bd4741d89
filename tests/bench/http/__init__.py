"""HTTP load benchmark: each endpoint beside a bare Flask baseline, in the same run.

    .venv/bin/python -m tests.bench.http [--duration 15] [--only checkin] …

Seeds a fresh PostgreSQL database (made and dropped per run) and a private Redis
prefix, serves Lianxin with `lianxin serve` and the baseline (baseline.py) under
the same gunicorn config, drives each with wrk walking a pre-built request list
(walk.lua: one request per object, never repeated), checks that the database
shows exactly the successful requests (and, after approvals, that the ledger
verifies), and prints req/s, p50/p99, the ratio to the baseline and peak RSS per
worker. See tests/bench/README.md.
"""
