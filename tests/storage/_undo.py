"""Rewrite a schema version 7 database the way version 6 stored it (for migration tests)."""

from __future__ import annotations

import hashlib
import json
from typing import Any

import sqlalchemy as sa

import pipelinekit as pk
from pipelinekit.storage.sql._compact import expand, put_back_columns
from pipelinekit.storage.sql._driver import when
from pipelinekit.storage.sql.schema import Tables, dumps


def undo_version_7(conn: sa.Connection, tables: Tables) -> None:
    """Verbose result documents, lead documents with their history and every key, no
    templates table."""
    t = tables.templates
    templates = {k: json.loads(b) for k, b in conn.execute(sa.select(t.c.key, t.c.body))}
    r = tables.results
    rows = conn.execute(
        sa.select(r.c.rid, r.c.subject_kind, r.c.subject_id, r.c.fingerprint, r.c.doc)
    ).all()
    for rid, kind, subject_id, fingerprint, doc in rows:
        data: Any = json.loads(doc)
        verbose = expand(data[1], templates[data[0]], subject_id)
        # 128-bit fingerprints, as version 6 wrote them
        text = json.dumps(verbose, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
        long_fp = hashlib.sha256(text.encode()).hexdigest()[:32]
        assert long_fp.startswith(fingerprint)
        conn.execute(
            sa.update(r).where(r.c.rid == rid).values(doc=dumps(verbose), fingerprint=long_fp)
        )
        entities = tables.entities[kind]
        conn.execute(
            sa.update(entities)
            .where(entities.c.id == subject_id, entities.c.result_fp == fingerprint)
            .values(result_fp=long_fp)
        )
    leads, h = tables.entities["lead"], tables.history["lead"]
    c = leads.c
    columns = (c.id, c.created_us, c.updated_us, c.version, c.stage, c.external_id)
    for doc, *values in conn.execute(sa.select(c.doc, *columns)).all():
        entity_id = values[0]
        data = json.loads(doc)
        put_back_columns(data, (None, None, *values))
        changes = conn.execute(sa.select(h).where(h.c.entity_id == entity_id).order_by(h.c.seq))
        data["history"] = [
            {
                "from_stage": c.from_stage,
                "to_stage": c.to_stage,
                "event": c.event,
                "at": when(c.at_us).isoformat(),
                "actor": c.actor,
                "note": c.note,
                "pipeline": c.pipeline,
                "from_pipeline": c.from_pipeline,
            }
            for c in changes
        ]
        full = pk.to_dict(pk.from_dict(pk.Lead, data))
        full.pop("qualification")
        conn.execute(sa.update(leads).where(leads.c.id == entity_id).values(doc=dumps(full)))
    t.drop(conn)
