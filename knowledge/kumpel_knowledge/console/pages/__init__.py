"""The console's page modules, one per area; ``console/router.py`` finds and mounts every one.

Each module defines ``router = APIRouter()`` (paths relative to ``/staff``) and
``NAV: list[NavItem]`` (its menu entries; an empty list for none).
"""
