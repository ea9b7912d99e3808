"""The staff web console under ``/staff``: server-rendered pages (Jinja2 + htmx) on the service's own data paths."""
