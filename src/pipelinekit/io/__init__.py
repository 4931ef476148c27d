"""Import and export: leads from CSV or JSON Lines files into a storage, entities out to files.

The engine behind ``pipelinekit import`` and ``pipelinekit export``, usable
from any application (no command-line library needed)::

    from pipelinekit.io import import_leads

    summary = import_leads("leads.csv", storage, at=now, error_report="leads.errors.csv")
    print(summary.inserted, summary.updated, summary.unchanged, summary.rejected)

* :func:`import_leads` reads a CSV or JSON Lines file, maps columns to lead
  fields, reports **every** problem of a bad row (:class:`RowError`: line,
  field path, reason), upserts the good rows by external id in batches
  (re-running an import changes nothing) and can write the error report.
* :func:`export_entities` writes stored leads, opportunities or prospects as
  JSON Lines (complete: :func:`pipelinekit.from_dict` reads each line back) or
  CSV (:func:`lead_row`, :func:`opportunity_row`; a leads CSV imports again).
* :func:`read_hubspot`, :func:`read_salesforce` and :func:`read_odoo` turn
  pipeline definitions exported from HubSpot (pipelines API JSON), Salesforce
  (OpportunityStage metadata XML) and Odoo (``crm.stage`` CSV) into
  :class:`~pipelinekit.pipelines.PipelineSpec` values (:mod:`pipelinekit.io.definitions`).

See docs/io.md.
"""

from .definitions import ImportGraph, MissingExtra, read_hubspot, read_odoo, read_salesforce
from .errors import ImportFileError, OutputFileError
from .exporter import (
    EXPORT_FORMATS,
    EXPORT_KINDS,
    ExportFormat,
    ExportKind,
    export_entities,
    lead_row,
    opportunity_row,
)
from .formats import DELIMITERS, IMPORT_FORMATS, detect_format, not_utf8, read_rows
from .importer import (
    ERROR_REPORT_COLUMNS,
    DuplicateDecision,
    ImportSummary,
    OnDuplicate,
    RowError,
    check_writable,
    import_leads,
    write_error_report,
)
from .rows import DEFAULT_COLUMNS, FIELDS, Unmapped

__all__ = [
    "DEFAULT_COLUMNS",
    "DuplicateDecision",
    "OnDuplicate",
    "DELIMITERS",
    "ERROR_REPORT_COLUMNS",
    "EXPORT_FORMATS",
    "EXPORT_KINDS",
    "FIELDS",
    "IMPORT_FORMATS",
    "ExportFormat",
    "ExportKind",
    "ImportFileError",
    "ImportGraph",
    "ImportSummary",
    "MissingExtra",
    "OutputFileError",
    "RowError",
    "Unmapped",
    "check_writable",
    "detect_format",
    "export_entities",
    "import_leads",
    "lead_row",
    "not_utf8",
    "opportunity_row",
    "read_hubspot",
    "read_odoo",
    "read_rows",
    "read_salesforce",
    "write_error_report",
]
