"""The web app (``tingfeng serve``): server-rendered pages and a JSON API over the same store and
analysis functions as the command line.

Layout: ``app.py`` builds the FastAPI app; ``accounts.py`` keeps users, sessions, login
failures and the audit log in their own SQLite file (``WEB_DB``); ``auth.py`` and
``security.py`` authenticate every request and guard every change (roles, CSRF, headers);
``data.py`` assembles what pages and the API show; ``routes/`` holds one module per page.
Importing this package imports nothing heavy: FastAPI loads with :func:`web.app.create_app`.
"""
