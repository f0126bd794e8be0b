"""Scoring: sentiment, influence, engagement, net sentiment, risk words, metrics and alerts.

Pure functions and small value classes over ``crawlers.items`` records (networkx style: each
module has ``__all__`` and is re-exported here). No scrapy, pymongo or matplotlib; snownlp only
inside ``scoring.sentiment.SnowNLPModel``; training code (scikit-learn) stays in
``scoring.training`` and is not imported here.
"""

from scoring.alerts import *  # noqa: F403
from scoring.baseline import *  # noqa: F403
from scoring.engagement import *  # noqa: F403
from scoring.features import *  # noqa: F403
from scoring.influence import *  # noqa: F403
from scoring.netsentiment import *  # noqa: F403
from scoring.risk import *  # noqa: F403
from scoring.sentiment import *  # noqa: F403
from scoring.snapshot import *  # noqa: F403
