"""The incident console: `GET /console`, a page for the person on call.

`view.py` turns the incident stage's raw states into what a person reads, `page.py`
renders it as HTML, `assets.py` holds the page's shell, script and style, `auth.py`
checks the bearer token, and `web.py` serves it from the incidents stage's worker.
Not a stage: it owns no topic and no table, and it never decides anything. Its buttons
call the same HTTP API as everyone else (`ops/APPROVALS.md`).
"""
