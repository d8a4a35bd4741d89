"""The points ledger: accounts, immutable transfers, holds, reversals, verification."""
