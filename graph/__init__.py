"""Propagation analysis: repost cascades, key nodes, cascade shape, circles and exports.

Pure networkx/numpy functions (networkx style: each module defines ``__all__``). Never imports
scrapy, pymongo or matplotlib, and reads no settings.

* build      repost_graph, cascades, cascade, cascade_forest, propagation_graphs
* resolve    parent resolution and its repair counters (used by build)
* forest     CascadeForest: a forest of cascades as flat arrays (linear-time analysis)
* shape      size, depth, breadth, levels, structural virality, velocity
* centrality node_scores (reach, out_degree, pagerank, leaderrank, kshell, betweenness)
* keynodes   key_nodes, rank_key_nodes (with reasons), tipping_points, downstream_sentiment
* circles    Louvain circles with net sentiment
* export     GEXF, GraphML, node-link JSON
* edges      cascades from a ``cascade_id, parent, child[, unix_time]`` edge file
"""

from .build import *  # noqa: F403
from .centrality import *  # noqa: F403
from .circles import *  # noqa: F403
from .edges import *  # noqa: F403
from .export import *  # noqa: F403
from .forest import *  # noqa: F403
from .keynodes import *  # noqa: F403
from .resolve import *  # noqa: F403
from .shape import *  # noqa: F403
