"""The sandbox's data model: records, their store, clock, codes, cards, values, errors.

It imports nothing from the engine or the HTTP layer above it.
"""
