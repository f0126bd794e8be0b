"""The "why" and measurement reports as sections: each analysis turns a window of posts into
titled tables (with notes) and a JSON document; :mod:`scheduler.analysis.render` draws the
sections as a terminal table, CSV, JSON or one HTML page. The analyses themselves are the pure
functions of ``scoring.why`` and ``scoring.measure``; this package only loads the window and
words the result for readers (Chinese by default, through the catalogue)."""
