"""Why it is happening: hot words and negative drivers, events (near-duplicates and stories),
regions, emotions over time and water-army scores — pure functions over posts and authors.

Each module is imported by name (``from scoring.why.drivers import negative_drivers``); nothing
here reads the store or prints.
"""
