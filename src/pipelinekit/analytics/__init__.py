"""Pipeline analytics: weighted forecast, conversion funnel, sales metrics, time in stage.

Every function takes its data (the entities, or an open unit of work of any
storage) and the pipeline definitions that give stages their meaning, and
returns a typed, immutable result with ``to_rows()`` / ``to_dicts()``.  Money
stays exact (``Decimal``) and currencies are never added silently.  Figures can
be asked for as of a past moment (``as_of=``): only the history up to it counts.

A storage that offers :class:`~pipelinekit.analytics.ports.AnalyticsQueries`
(the SQL adapters do) computes the aggregates itself; any other is read entity
by entity; the results are the same.  :func:`pipeline_report` assembles the
overview the command line prints; charts and HTML pages need the ``report``
extra (:mod:`pipelinekit.analytics.charts`).
"""

from __future__ import annotations

from .errors import AnalyticsError, MissingRate, MixedCurrencies
from .forecast import FORECAST_DIMENSIONS, forecast
from .funnel import FUNNEL_DIMENSIONS, LEAD_DIMENSIONS, funnel, lead_conversion, lead_funnel
from .metrics import METRIC_DIMENSIONS, sales_metrics
from .ports import PERIODS, Period, period_label
from .report import (
    OpenStage,
    OpenTotal,
    PipelineReport,
    ReportStep,
    TopLead,
    format_amount,
    key_label,
    pipeline_report,
    report_date,
    score_reasons,
    top_leads,
)
from .results import (
    Forecast,
    ForecastLine,
    Funnel,
    FunnelStep,
    LeadConversion,
    LeadConversionLine,
    SalesMetrics,
    SalesMetricsLine,
    StageTime,
    StageTimes,
    StaleDeal,
    StaleDeals,
)
from .screening import UnknownStageRow, UnknownStages
from .stages import stale_deals, time_in_stages

__all__ = [
    "FORECAST_DIMENSIONS",
    "FUNNEL_DIMENSIONS",
    "LEAD_DIMENSIONS",
    "METRIC_DIMENSIONS",
    "PERIODS",
    "AnalyticsError",
    "Forecast",
    "ForecastLine",
    "Funnel",
    "FunnelStep",
    "LeadConversion",
    "LeadConversionLine",
    "MissingRate",
    "MixedCurrencies",
    "OpenStage",
    "OpenTotal",
    "Period",
    "PipelineReport",
    "ReportStep",
    "SalesMetrics",
    "SalesMetricsLine",
    "StageTime",
    "StageTimes",
    "StaleDeal",
    "StaleDeals",
    "TopLead",
    "UnknownStageRow",
    "UnknownStages",
    "forecast",
    "format_amount",
    "funnel",
    "lead_conversion",
    "lead_funnel",
    "period_label",
    "key_label",
    "pipeline_report",
    "report_date",
    "sales_metrics",
    "score_reasons",
    "stale_deals",
    "time_in_stages",
    "top_leads",
]
