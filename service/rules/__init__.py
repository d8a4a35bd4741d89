"""Earning rules as versioned data, and crediting work by them."""
