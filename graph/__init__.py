"""Propagation analysis: repost cascades, key nodes, cascade shape, circles and exports.

Pure networkx/numpy functions (networkx style: each module defines ``__all__``). Never imports
scrapy, pymongo or matplotlib, and reads no settings.
"""

from .build import *
from .forest import *
from .shape import *
from .centrality import *
from .keynodes import *
from .circles import *
from .export import *
from .resolve import *
