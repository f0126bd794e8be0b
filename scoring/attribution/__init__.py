"""Multi-touch attribution: which channels (ads, mail, KOL posts, search) earn a conversion.

``journeys`` cuts touchpoints into per-conversion journeys and reads them from files;
``rules`` holds the fixed-formula models and the assist report; ``markov`` the removal-effect
chain; ``shapley`` the cooperative-game split. Every model is a pure function of a list of
``Journey`` returning ``{channel: credit}`` that sums to the total conversion value. numpy only
(for the Markov solve); no settings, no I/O outside the two readers.
"""

from scoring.attribution.journeys import *  # noqa: F403
from scoring.attribution.markov import *  # noqa: F403
from scoring.attribution.rules import *  # noqa: F403
from scoring.attribution.shapley import *  # noqa: F403
