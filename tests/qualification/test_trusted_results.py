"""Results built on the batch path keep the promises the validating constructor makes."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from hypothesis import given

from pipelinekit import ValidationError
from pipelinekit.qualification.errors import EvaluationError
from pipelinekit.qualification.results import (
    BreakdownLine,
    CriterionStatus,
    QualificationResult,
    Verdict,
    trusted_line,
    trusted_result,
)
from pipelinekit.testing import strategies as pks

AT = datetime(2026, 1, 1, tzinfo=UTC)
LINE = BreakdownLine("size", CriterionStatus.MATCH, Decimal(10), "fits")


def _args(**changes: object) -> dict[str, object]:
    args: dict[str, object] = {
        "strategy": "icp_fit", "strategy_version": "1", "config_hash": "sha256:abc",
        "as_of": AT, "score": Decimal(10), "scale_min": Decimal(0), "scale_max": Decimal(100),
        "verdict": Verdict.QUALIFIED, "coverage": Decimal(1), "breakdown": (LINE,),
    }  # fmt: skip
    args.update(changes)
    return args


@given(pks.qualification_results())
def test_trusted_results_equal_validated_ones(result: QualificationResult) -> None:
    import attrs

    values = attrs.asdict(result, recurse=False)
    assert trusted_result(**values) == result


def test_a_breakdown_that_does_not_add_up_is_refused() -> None:
    with pytest.raises(EvaluationError, match="adds up to 10 but the score is 11"):
        trusted_result(**_args(score=Decimal(11)))  # type: ignore[arg-type]


def test_a_score_outside_the_scale_is_refused() -> None:
    with pytest.raises(EvaluationError, match="outside the scale"):
        trusted_result(**_args(score=Decimal(101), breakdown=()))  # type: ignore[arg-type]


def test_bad_names_fall_back_to_full_validation() -> None:
    with pytest.raises(ValidationError):
        trusted_result(**_args(strategy=""))  # type: ignore[arg-type]


@given(pks.breakdown_lines())
def test_trusted_lines_equal_validated_ones(line: BreakdownLine) -> None:
    import attrs

    assert trusted_line(**attrs.asdict(line, recurse=False)) == line


def test_trusted_lines_fall_back_to_validation() -> None:
    with pytest.raises(ValidationError):
        trusted_line("size", CriterionStatus.MATCH, Decimal("NaN"), "x")
    with pytest.raises(ValidationError):
        trusted_line("", CriterionStatus.MATCH, Decimal(1), "x")
