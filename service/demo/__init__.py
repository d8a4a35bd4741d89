"""The demo world: one street, two communities with grids, and the people who work there.

Seeding is idempotent: a second run finds what the first created (by place name
under its parent, by openid) and reports the same world, so ``make run`` can seed
on every start. Later features add their demo objects here.
"""
