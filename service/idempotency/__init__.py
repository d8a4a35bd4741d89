"""HTTP ``Idempotency-Key`` for money-moving requests: one outcome per key."""
