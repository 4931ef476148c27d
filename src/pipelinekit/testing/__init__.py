"""Test helpers for pipelinekit and its users (needs the ``test`` extra: Hypothesis, pytest).

Importing :mod:`pipelinekit` never imports this package.
"""
