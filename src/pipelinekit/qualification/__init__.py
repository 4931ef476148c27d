"""Qualification: strategies that score leads and explain every point."""

from .results import BreakdownLine, CriterionStatus, QualificationResult, Verdict

__all__ = ["BreakdownLine", "CriterionStatus", "QualificationResult", "Verdict"]
