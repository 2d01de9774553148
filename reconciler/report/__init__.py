"""`reconcile report`: a static site of every rule, its week, its runs and the apply history.

data.py assembles what the page shows (pure), week.py cuts a rule's on-windows into local days,
render.py lays it out with Jinja2 templates (templates/) and ships the CSS and JavaScript
(assets/).
"""
