"""Tingfeng's data-producing package: schema, spiders, store. Imports no graph/scoring/scheduler."""
