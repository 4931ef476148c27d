"""Duplicates: matching rules as data, finding at scale, explained scores, merge and undo.

::

    from pipelinekit.dedupe import default_rules, find

    for cluster in find(leads, default_rules()):
        print(cluster.explain())

Fuzzy rules need rapidfuzz (the ``dedupe`` extra); phone numbers are compared
in E.164 with phonenumbers (the ``phone`` extra), by their digits otherwise.
See ``docs/duplicates.md``.
"""

from .checking import DuplicateCheck, DuplicateChecker, DuplicateRefused, check
from .errors import DedupeDependencyError, MergeRefused, UnmergeRefused
from .finding import DuplicateCluster, find, find_pairs
from .merging import (
    MERGE_FIELDS,
    MERGED_INTO,
    MergePolicy,
    MergeResult,
    UnmergeResult,
    merge,
    merges_of,
    unmerge,
)
from .rules import (
    MatchRule,
    MatchRules,
    MatchRulesError,
    RuleKind,
    default_rules,
    load_rules,
    loads_rules,
    rules_from_dict,
)
from .scoring import PairScore, Part, Ref, score_pair

__all__ = [
    "DedupeDependencyError",
    "DuplicateCheck",
    "DuplicateChecker",
    "DuplicateCluster",
    "DuplicateRefused",
    "MERGED_INTO",
    "MERGE_FIELDS",
    "MatchRule",
    "MatchRules",
    "MatchRulesError",
    "MergePolicy",
    "MergeRefused",
    "MergeResult",
    "PairScore",
    "Part",
    "Ref",
    "RuleKind",
    "UnmergeRefused",
    "UnmergeResult",
    "check",
    "default_rules",
    "find",
    "find_pairs",
    "load_rules",
    "loads_rules",
    "merge",
    "merges_of",
    "rules_from_dict",
    "score_pair",
    "unmerge",
]
