"""What the pages and the JSON API show, assembled from the store through its contract (no
query syntax here) and worded with :mod:`scheduler.notify.wording`. One module per page; every
function returns plain JSON-ready dicts, so a page and its ``/api/`` twin show the same thing."""
