"""Alembic migrations: one history for the one database (run by ``threadline db upgrade``).

Each package adds its own revisions as a branch off the base revision, labelled with the
package name; ``threadline db upgrade`` brings every branch to its head.
"""
