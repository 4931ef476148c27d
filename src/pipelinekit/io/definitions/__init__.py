"""Importers for pipeline definitions kept in other CRMs.

* :func:`read_hubspot`: a HubSpot CRM pipelines API response (JSON) -> one
  :class:`~pipelinekit.pipelines.PipelineSpec` per deal pipeline;
* :func:`read_salesforce`: a Salesforce ``OpportunityStage.standardValueSet-meta.xml``
  file (Metadata API) -> a :class:`~pipelinekit.pipelines.PipelineSpec`
  (needs the ``salesforce`` extra for ``defusedxml``);
* :func:`read_odoo`: an Odoo ``crm.stage`` CSV export -> a
  :class:`~pipelinekit.pipelines.PipelineSpec` (with a ``lost`` stage: Odoo
  loses opportunities by archiving them with a reason).

The source's ids, labels, order, probabilities (converted from the source's
unit), closed / won flags and forecast categories are kept; the transitions
come from :class:`ImportGraph` (documented there).  Write the result out with
:func:`~pipelinekit.pipelines.dumps_pipeline` to keep it as TOML.
"""

from .graph import ImportGraph
from .hubspot import read_hubspot
from .odoo import read_odoo
from .salesforce import MissingExtra, read_salesforce

__all__ = ["ImportGraph", "MissingExtra", "read_hubspot", "read_odoo", "read_salesforce"]
