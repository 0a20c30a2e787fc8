"""Views in an order that creates each one after the views it reads from.

The placeholders the dump writes first let views load in any order, except one `WITH CHECK OPTION` over
another view: the server refuses it while that view is still a placeholder (`SELECT 1 AS …` cannot be
updated). A view is taken to read from another when the other's quoted name appears in its definition
other than as a column's alias or a column of some table (SHOW CREATE VIEW quotes every name, writes
`AS` before each alias and `table`.`column` for each column), which at worst orders two views
needlessly; a cycle that such a guess makes is left in name order.
"""

from __future__ import annotations

import re
from graphlib import CycleError, TopologicalSorter

from shared.engines.mysql.schema import Definition
from shared.engines.mysql.value_formats import quote_identifier


def in_dependency_order(views: list[Definition]) -> list[Definition]:
    by_name = {view.name: view for view in views}
    graph = TopologicalSorter[str]()
    for view in views:
        graph.add(view.name, *(other for other in by_name if other != view.name and _reads(view, other)))
    try:
        graph.prepare()
    except CycleError:
        return views
    ordered: list[Definition] = []
    while graph.is_active():
        ready = sorted(graph.get_ready())
        ordered.extend(by_name[name] for name in ready)
        graph.done(*ready)
    return ordered


def _reads(view: Definition, other: str) -> bool:
    return re.search(r"(?<!AS )(?<!\.)" + re.escape(quote_identifier(other)), view.statement) is not None
