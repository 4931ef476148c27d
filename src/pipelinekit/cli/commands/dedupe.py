"""``pipelinekit dedupe``: list duplicate clusters with their explanation, merge, undo."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from ...dedupe import (
    DuplicateCluster,
    MatchRules,
    default_rules,
    find,
    load_rules,
    merge,
    unmerge,
)
from ...io import OutputFileError
from ...storage import ConcurrencyConflict, UnitOfWork
from .._context import interruptible, now, state
from .._printing import print_json, progress_bar, say

__all__ = ["dedupe", "undo"]

JsonFlag = Annotated[bool, typer.Option("--json", help="Write JSON on stdout.")]


def _rules(path: Path | None) -> MatchRules:
    return default_rules() if path is None else load_rules(path)


def _cluster_json(cluster: DuplicateCluster) -> dict[str, Any]:
    return {
        "members": [str(m) for m in cluster.members],
        "score": str(cluster.score),
        "pairs": [
            {
                "left": str(pair.left),
                "right": str(pair.right),
                "score": str(pair.score),
                "parts": [
                    {"rule": p.rule, "points": str(p.points), "similarity": p.similarity}
                    for p in pair.parts
                ],
            }
            for pair in cluster.pairs
        ],
    }


class _Table:
    """Rows with column names: what the HTML renderer draws a table of."""

    def __init__(self, columns: list[str], rows: list[list[Any]]) -> None:
        self.columns = columns
        self.rows = rows

    def to_rows(self) -> list[list[Any]]:
        return self.rows


def _html_page(clusters: list[DuplicateCluster], where: str) -> str:
    """The clusters and their explained pairs as one standalone page (every text escaped)."""
    from ...analytics.charts import render_html

    summary = _Table(
        ["cluster", "records", "best score", "kinds"],
        [
            [n, ", ".join(map(str, c.members)), c.score, ", ".join(sorted(c.kinds))]
            for n, c in enumerate(clusters, 1)
        ],
    )
    pairs = _Table(
        ["cluster", "record", "matches", "score", "rules that fired"],
        [
            [n, str(pair.left), str(pair.right), pair.score, " + ".join(map(str, pair.parts))]
            for n, c in enumerate(clusters, 1)
            for pair in c.pairs
        ],
    )
    return render_html(
        (f"{_clusters(len(clusters))} of duplicates", summary),
        ("Why they match: each pair's score is the sum of its rules", pairs),
        title=f"Duplicates in {where}",
        charts="never",
    )


def _clusters(count: int) -> str:
    return f"{count} cluster{'' if count == 1 else 's'}"


def _records(uow: UnitOfWork) -> list[Any]:
    return [*uow.leads.iterate(), *uow.prospects.iterate(), *uow.opportunities.iterate()]


def dedupe(
    ctx: typer.Context,
    rules_file: Annotated[
        Path | None,
        typer.Option("--rules", metavar="FILE", help="Matching rules (TOML); default: built-in."),
    ] = None,
    apply: Annotated[
        bool, typer.Option("--apply", help="Merge each cluster of leads into its survivor.")
    ] = False,
    yes: Annotated[
        bool, typer.Option("--yes", help="With --apply: do not ask to confirm.")
    ] = False,
    json_out: JsonFlag = False,
    html: Annotated[
        Path | None,
        typer.Option(
            "--html", metavar="FILE", help="Also write the clusters as a standalone HTML page."
        ),
    ] = None,
) -> None:
    """List duplicate clusters (leads, prospects, open opportunities) and why they match."""
    if ctx.invoked_subcommand is not None:
        return
    rules = _rules(rules_file)
    storage = state(ctx).storage(must_exist=True)
    try:
        with storage.unit_of_work(read_only=True) as uow:
            clusters = find(_records(uow), rules)
        if html is not None:
            try:
                html.write_text(_html_page(clusters, state(ctx).db_label), encoding="utf-8")
            except OSError as error:
                raise OutputFileError(html, error.strerror or str(error)) from error
        if json_out and not apply:
            print_json({"clusters": [_cluster_json(c) for c in clusters]})
        elif not json_out:
            for cluster in clusters:
                sys.stdout.write(cluster.explain() + "\n")
        records = sum(len(c.members) for c in clusters)
        where = state(ctx).db_label
        say(f"{_clusters(len(clusters))} of duplicates ({records} records) in {where}")
        if html is not None:
            say(f"HTML report: {html}")
        if not apply or not clusters:
            return
        mergeable = [c for c in clusters if c.kinds == {"lead"}]
        if len(mergeable) < len(clusters):
            say(
                f"{len(clusters) - len(mergeable)} clusters hold prospects or opportunities: "
                "only leads are merged, those are left as they are"
            )
        if not yes and not typer.confirm(
            f"Merge {_clusters(len(mergeable))} of leads?", default=False, err=True
        ):
            say("Nothing was merged.")
            return
        done: list[dict[str, Any]] = []
        skipped: list[str] = []

        def resume() -> str:
            return (
                f"{len(done)} clusters were merged (each is committed); run it again for the rest"
            )

        with interruptible(resume), progress_bar("Merging", enabled=not json_out) as update:
            for index, cluster in enumerate(mergeable):
                try:
                    with storage.unit_of_work() as write:
                        result = merge(write, cluster, at=now(), actor="pipelinekit dedupe")
                        write.commit()
                except ConcurrencyConflict:
                    skipped.append(str(cluster.members[0]))
                else:
                    done.append(
                        {
                            "merge_id": result.merge_id,
                            "survivor": result.survivor.id,
                            "merged": [lead.id for lead in result.archived],
                        }
                    )
                update(index + 1, len(mergeable))
        if json_out:
            print_json(
                {
                    "clusters": [_cluster_json(c) for c in clusters],
                    "merges": done,
                    "skipped": skipped,
                }
            )
        else:
            for item in done:
                sys.stdout.write(
                    f"merged {', '.join(item['merged'])} into {item['survivor']} "
                    f"(undo: pipelinekit dedupe undo {item['merge_id']})\n"
                )
        if skipped:
            say(f"{len(skipped)} clusters changed while merging and were skipped: run it again")
    finally:
        storage.close()


def undo(
    ctx: typer.Context,
    merge_id: Annotated[str, typer.Argument(metavar="MERGE_ID", help="The id a merge printed.")],
    json_out: JsonFlag = False,
) -> None:
    """Undo a merge: every record it changed is stored again as it was before."""
    storage = state(ctx).storage(must_exist=True)
    try:
        result = storage.run(
            lambda uow: unmerge(uow, merge_id, at=now(), actor="pipelinekit dedupe")
        )
    finally:
        storage.close()
    restored = [lead.id for lead in result.leads]
    if json_out:
        print_json({"merge_id": merge_id, "restored": restored,
                    "opportunities": [d.id for d in result.opportunities]})  # fmt: skip
    else:
        sys.stdout.write(f"restored {', '.join(restored)} as they were before merge {merge_id}\n")
