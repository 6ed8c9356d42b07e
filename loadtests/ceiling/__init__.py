"""The machine's ceilings: a bare Django + DRF project, served exactly like a tenant API.

Three endpoints without authentication, each the least a real endpoint does:
``GET /constant`` (answers ``{"ok": true}``), ``GET /rows/<id>`` (one row by primary key through a
serializer, from a table of 100 000 rows) and ``POST /write`` (one UPDATE of a counter row and one
INSERT, in one transaction; 201). ``loadtests/letsema_load/ceilings.py`` creates its scratch
database, serves it with gunicorn under the tenant APIs' settings and measures it with Locust.
"""
